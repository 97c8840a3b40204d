package io.wiremesh.clusterdns;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * IP addresses written as one DNS label, with dashes for dots or colons, as CoreDNS's {@code kubernetes}
 * plugin writes them: {@code 10-42-1-5} for 10.42.1.5 and {@code fd00--5} for fd00::5. Used for pod names
 * ({@code <dashed-ip>.<ns>.pod.<zone>}, "pods insecure") and for the names of headless Services' endpoints
 * without a hostname ({@code <dashed-ip>.<svc>.<ns>.svc.<zone>}).
 */
public final class DashedIp {
    private static final Pattern V4 = Pattern.compile("(0|[1-9]\\d{0,2})(-(0|[1-9]\\d{0,2})){3}");
    private static final Pattern V6 = Pattern.compile("[0-9a-fA-F-]{2,39}");

    private DashedIp() {}

    /**
     * The label of an address: an IPv4 address with its dots as dashes, an IPv6 address in its compressed
     * (RFC 5952) form with its colons as dashes, lower case. Never fails.
     */
    public static String label(InetAddress ip) {
        return switch (ip) {
            case Inet4Address v4 -> v4.getHostAddress().replace('.', '-');
            case Inet6Address v6 -> compressed(v6).replace(':', '-');
            default -> throw new IllegalArgumentException("not an IP address: " + ip);
        };
    }

    /**
     * The address a label names, if it is one: four dash-separated decimal octets without leading zeros (IPv4, as Go's
     * {@code net.ParseIP} reads them), or an IPv6 address
     * with dashes for colons ({@code --} for {@code ::}; any zero-padding or abbreviation Java's literal parser
     * accepts). Empty for anything else; never resolves a host name.
     */
    public static Optional<InetAddress> parse(String label) {
        try {
            if (V4.matcher(label).matches()) return Optional.of(Inet4Address.ofLiteral(label.replace('-', '.')));
            if (V6.matcher(label).matches() && label.indexOf('-') >= 0) return Optional.of(Inet6Address.ofLiteral(label.replace('-', ':')));
        } catch (IllegalArgumentException e) {
            // not an address
        }
        return Optional.empty();
    }

    /** RFC 5952 text of an IPv6 address: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
    static String compressed(Inet6Address ip) {
        byte[] b = ip.getAddress();
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
                continue;
            }
            if (!s.isEmpty() && s.charAt(s.length() - 1) != ':') s.append(':');
            s.append(Integer.toHexString(g[i]));
        }
        return s.toString();
    }
}
