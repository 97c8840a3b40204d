package io.wiremesh.cli;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.net.HostName;
import java.util.List;

/**
 * A wg-quick configuration for an external peer: its key and addresses, one gateway node as its peer.
 *
 * @param gatewayEndpoint what the device dials, {@code HOST:PORT} as the operator listed it (a DNS name stays a name)
 * @param dns             DNS servers and search domains for the [Interface] DNS line; empty: no DNS line
 */
public record WgQuickConfig(String privateKey, List<String> addresses, List<String> dns, String gatewayPublicKey, String presharedKey,
                            String gatewayEndpoint, List<String> allowedIps, int persistentKeepalive) {
    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("[Interface]\n");
        sb.append("PrivateKey = ").append(privateKey).append('\n');
        sb.append("Address = ").append(String.join(", ", addresses)).append('\n');
        if (!dns.isEmpty()) sb.append("DNS = ").append(String.join(", ", dns)).append('\n');
        sb.append('\n');
        sb.append("[Peer]\n");
        sb.append("PublicKey = ").append(gatewayPublicKey).append('\n');
        if (presharedKey != null) sb.append("PresharedKey = ").append(presharedKey).append('\n');
        sb.append("Endpoint = ").append(gatewayEndpoint).append('\n');
        sb.append("AllowedIPs = ").append(String.join(", ", allowedIps)).append('\n');
        if (persistentKeepalive > 0) sb.append("PersistentKeepalive = ").append(persistentKeepalive).append('\n');
        return sb.toString();
    }

    /** The DNS servers (address entries) outside AllowedIPs: the device asks them directly, not through the mesh. */
    public List<String> dnsOutsideTunnel() {
        return dns.stream().filter(d -> HostName.parse(d).kind() != HostName.Kind.DNS).filter(d -> {
            Cidr server = Cidr.parse(d + (d.indexOf(':') >= 0 ? "/128" : "/32"));
            return allowedIps.stream().map(Cidr::parse).noneMatch(a -> a.contains(server));
        }).toList();
    }
}
