package io.wiremesh.clusterdns;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/** Socket addresses given on the command line as an IP literal and an optional port. */
public final class HostPort {
    private HostPort() {}

    /**
     * Parses {@code IP}, {@code IP:PORT}, {@code [IPv6]} or {@code [IPv6]:PORT} (a bare IPv6 address takes no port).
     * Never resolves a name.
     *
     * @param text the flag's value
     * @param defaultPort the port when none is given, 1..65535
     * @return the address, unresolved-free (an IP literal)
     * @throws IllegalArgumentException for a name, a malformed address or a port outside 1..65535
     */
    public static InetSocketAddress parse(String text, int defaultPort) {
        String host = text;
        int port = defaultPort;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("missing ']' in " + text);
            host = text.substring(1, close);
            String rest = text.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw new IllegalArgumentException("expected ':PORT' after ']' in " + text);
                port = port(rest.substring(1), text);
            }
        } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) {
            host = text.substring(0, text.indexOf(':'));
            port = port(text.substring(text.indexOf(':') + 1), text);
        }
        InetAddress ip;
        try {
            ip = InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IP address: " + host + " (in " + text + ")");
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port outside 1..65535 in " + text);
        return new InetSocketAddress(ip, port);
    }

    private static int port(String s, String text) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a port: " + s + " (in " + text + ")");
        }
    }
}
