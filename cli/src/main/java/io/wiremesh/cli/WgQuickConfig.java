package io.wiremesh.cli;

import java.util.List;

/** A wg-quick configuration for an external peer: its key and addresses, one gateway node as its peer. */
public record WgQuickConfig(String privateKey, List<String> addresses, String gatewayPublicKey, String presharedKey,
                            String gatewayEndpoint, List<String> allowedIps, int persistentKeepalive) {
    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("[Interface]\n");
        sb.append("PrivateKey = ").append(privateKey).append('\n');
        sb.append("Address = ").append(String.join(", ", addresses)).append('\n');
        sb.append('\n');
        sb.append("[Peer]\n");
        sb.append("PublicKey = ").append(gatewayPublicKey).append('\n');
        if (presharedKey != null) sb.append("PresharedKey = ").append(presharedKey).append('\n');
        sb.append("Endpoint = ").append(gatewayEndpoint).append('\n');
        sb.append("AllowedIPs = ").append(String.join(", ", allowedIps)).append('\n');
        if (persistentKeepalive > 0) sb.append("PersistentKeepalive = ").append(persistentKeepalive).append('\n');
        return sb.toString();
    }
}
