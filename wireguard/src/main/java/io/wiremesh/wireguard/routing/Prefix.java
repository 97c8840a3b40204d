package io.wiremesh.wireguard.routing;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 prefix, normalised (host bits cleared), printed as wireguard-go prints it. */
public record Prefix(byte[] address, int bits) {
    public Prefix {
        if (address.length != 4 && address.length != 16) throw new IllegalArgumentException("bad address length");
        if (bits < 0 || bits > address.length * 8) throw new IllegalArgumentException("bad prefix length " + bits);
        address = mask(address.clone(), bits);
    }

    /** Parses "10.0.0.0/8", "fd00::/64", or a bare address (host prefix). */
    public static Prefix parse(String s) {
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (addr.isEmpty() || !(addr.indexOf(':') >= 0 || addr.chars().allMatch(ch -> ch == '.' || Character.isDigit(ch)))) {
            throw new IllegalArgumentException("invalid IP address: " + s);
        }
        byte[] a;
        try {
            a = InetAddress.getByName(addr).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("invalid IP address: " + s);
        }
        int bits;
        try {
            bits = slash < 0 ? a.length * 8 : Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid prefix length: " + s);
        }
        return new Prefix(a, bits);
    }

    public boolean isV4() {
        return address.length == 4;
    }

    private static byte[] mask(byte[] a, int bits) {
        for (int i = 0; i < a.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - 8 * i));
            a[i] &= (byte) (0xff00 >>> keep);
        }
        return a;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prefix p && p.bits == bits && java.util.Arrays.equals(p.address, address);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(address) * 31 + bits;
    }

    @Override
    public String toString() {
        try {
            String host = InetAddress.getByAddress(address).getHostAddress();
            if (!isV4()) host = compressV6(host);
            return host + "/" + bits;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Java prints "fd00:0:0:0:0:0:0:1"; WireGuard tools print RFC 5952 "fd00::1". */
    static String compressV6(String full) {
        String[] parts = full.split(":");
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < parts.length; ) {
            if (parts[i].equals("0")) {
                int j = i;
                while (j < parts.length && parts[j].equals("0")) j++;
                if (j - i > bestLen && j - i > 1) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        if (bestStart < 0) return full;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bestStart; i++) sb.append(i > 0 ? ":" : "").append(parts[i]);
        sb.append("::");
        for (int i = bestStart + bestLen; i < parts.length; i++) {
            sb.append(parts[i]);
            if (i < parts.length - 1) sb.append(':');
        }
        return sb.toString();
    }
}
