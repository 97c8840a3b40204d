package io.wiremesh.api.net;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 prefix with the arithmetic address management needs (blocks inside pools).
 * Parsing accepts only literal addresses and reports what is wrong in words a user can act on.
 */
public record Cidr(BigInteger network, int bits, boolean v6) implements Comparable<Cidr> {
    public Cidr {
        int total = v6 ? 128 : 32;
        if (bits < 0 || bits > total) throw new IllegalArgumentException("prefix length " + bits + " out of range 0-" + total);
    }

    public static Cidr parse(String s) {
        if (s == null) throw new IllegalArgumentException("missing CIDR");
        int slash = s.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException(s + " is not a CIDR: add a prefix length, e.g. " + s + "/24");
        String host = s.substring(0, slash);
        boolean v6 = host.indexOf(':') >= 0;
        if (host.isEmpty() || (!v6 && !host.matches("[0-9.]+")) || (v6 && !host.matches("[0-9a-fA-F:.]+"))) {
            throw new IllegalArgumentException(s + " is not a CIDR: the address must be a literal IPv4 or IPv6 address");
        }
        byte[] raw;
        try {
            raw = InetAddress.getByName(host).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(s + " is not a CIDR: bad address");
        }
        if (v6 && raw.length == 4) throw new IllegalArgumentException(s + ": IPv4-mapped IPv6 addresses are not supported");
        int bits;
        try {
            bits = Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(s + " is not a CIDR: bad prefix length");
        }
        Cidr c = new Cidr(new BigInteger(1, raw), bits, v6);
        if (!c.network.equals(c.network.and(c.mask()))) {
            throw new IllegalArgumentException(s + " has host bits set: use " + new Cidr(c.network.and(c.mask()), bits, v6));
        }
        return c;
    }

    public int totalBits() {
        return v6 ? 128 : 32;
    }

    private BigInteger mask() {
        int total = totalBits();
        return BigInteger.ONE.shiftLeft(total).subtract(BigInteger.ONE).xor(BigInteger.ONE.shiftLeft(total - bits).subtract(BigInteger.ONE));
    }

    /** Number of addresses. */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(totalBits() - bits);
    }

    /** Last address (inclusive). */
    public BigInteger last() {
        return network.add(size()).subtract(BigInteger.ONE);
    }

    public boolean contains(Cidr other) {
        return v6 == other.v6 && other.bits >= bits && other.network.compareTo(network) >= 0 && other.last().compareTo(last()) <= 0;
    }

    public boolean overlaps(Cidr other) {
        return v6 == other.v6 && network.compareTo(other.last()) <= 0 && other.network.compareTo(last()) <= 0;
    }

    /** Number of blocks of length {@code blockBits} in this prefix. */
    public BigInteger blockCount(int blockBits) {
        return BigInteger.ONE.shiftLeft(blockBits - bits);
    }

    /** The {@code index}-th block of length {@code blockBits}. */
    public Cidr block(BigInteger index, int blockBits) {
        return new Cidr(network.add(index.shiftLeft(totalBits() - blockBits)), blockBits, v6);
    }

    /** The address {@code offset} after the network address, as text. */
    public String address(long offset) {
        return format(network.add(BigInteger.valueOf(offset)), v6);
    }

    @Override
    public int compareTo(Cidr o) {
        if (v6 != o.v6) return v6 ? 1 : -1;
        int c = network.compareTo(o.network);
        return c != 0 ? c : Integer.compare(bits, o.bits);
    }

    @Override
    public String toString() {
        return format(network, v6) + "/" + bits;
    }

    /** Dotted quad, or RFC 5952 IPv6 text (longest run of zero groups as "::"). */
    static String format(BigInteger addr, boolean v6) {
        if (!v6) {
            long a = addr.longValue();
            return (a >>> 24 & 255) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = addr.shiftRight(112 - 16 * i).intValue() & 0xffff;
        int best = -1, bestLen = 1;
        for (int i = 0; i < 8; i++) {
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) {
                best = i;
                bestLen = j - i;
            }
            if (j > i) i = j - 1;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
