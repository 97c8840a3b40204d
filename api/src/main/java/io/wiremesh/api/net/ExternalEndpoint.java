package io.wiremesh.api.net;

import java.util.regex.Pattern;

/**
 * The address at which external peers (WireGuardPeers) reach a gateway node when that is not the
 * node's own WireGuard endpoint: a public address, a NAT gateway or a port-forward. Declared by the
 * admin on the Node as annotation {@value #ANNOTATION} = {@code HOST[:PORT]}; read by the operator
 * (which lists it in WireGuardPeer status.gatewayEndpoints) and written unchanged into the device's
 * wg-quick config by the CLI. A DNS name stays a name: the device resolves it, wiremesh never does.
 *
 * @param host an IPv4 address, an IPv6 address (kept without brackets) or a DNS name
 * @param port UDP port, 1-65535
 */
public record ExternalEndpoint(HostName host, int port) {
    /** Node annotation: {@code HOST[:PORT]}. */
    public static final String ANNOTATION = "wiremesh.io/external-endpoint";
    /** The accepted form, in words for error messages. */
    public static final String FORM = "HOST[:PORT] with HOST an IPv4 address, a bracketed IPv6 address or a DNS name"
            + " (lowercase letters, digits, '-' and '.') and PORT 1-65535 (default: the mesh's listen port),"
            + " e.g. vpn.example.com:51820, 203.0.113.7:4500 or [2001:db8::1]:51820";

    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");

    public ExternalEndpoint {
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
    }

    /**
     * Parses {@code HOST[:PORT]}.
     *
     * @param value       the annotation's value
     * @param defaultPort the port when the value has none (the mesh's spec.listenPort, 51820 by default)
     * @throws IllegalArgumentException saying what is wrong with {@code value} (without the expected form: see {@link #FORM})
     */
    public static ExternalEndpoint parse(String value, int defaultPort) {
        if (value == null || value.isEmpty()) throw new IllegalArgumentException("the value is empty");
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("the '[' of the IPv6 address is not closed");
            HostName host = HostName.parse(value.substring(1, close));
            if (host.kind() != HostName.Kind.IPV6) throw new IllegalArgumentException("[" + host.text() + "]: brackets are for IPv6 addresses only");
            String rest = value.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) throw new IllegalArgumentException("\"" + rest + "\" after the IPv6 address: only :PORT may follow");
            return new ExternalEndpoint(host, port(rest.isEmpty() ? null : rest.substring(1), defaultPort));
        }
        int colon = value.indexOf(':');
        if (colon >= 0 && value.indexOf(':', colon + 1) >= 0) {
            throw new IllegalArgumentException("an IPv6 address must be in brackets, e.g. [2001:db8::1]:51820");
        }
        if (colon < 0) return new ExternalEndpoint(HostName.parse(value), defaultPort);
        return new ExternalEndpoint(HostName.parse(value.substring(0, colon)), port(value.substring(colon + 1), defaultPort));
    }

    private static int port(String text, int defaultPort) {
        if (text == null) return defaultPort;
        if (!PORT.matcher(text).matches()) throw new IllegalArgumentException("port \"" + text + "\" is not a number 1-65535");
        int p = Integer.parseInt(text);
        if (p < 1 || p > 65535) throw new IllegalArgumentException("port " + p + " is out of range 1-65535");
        return p;
    }

    /** {@code host:port}, an IPv6 host in brackets: what wg-quick's Endpoint takes. */
    @Override
    public String toString() {
        return (host.kind() == HostName.Kind.IPV6 ? "[" + host.text() + "]" : host.text()) + ":" + port;
    }
}
