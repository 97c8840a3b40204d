package io.wiremesh.wireguard.offload;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Internet checksum (RFC 1071: the ones' complement of the ones' complement sum of 16-bit
 * big-endian words) and the TCP/UDP pseudo-header sums (RFC 9293 section 3.1, RFC 8200 section
 * 8.1). Sums are carried unfolded in a {@code long} so that regions can be chained; {@link #fold}
 * turns one into the 16-bit value. Works on any buffer regardless of its byte order, reads by
 * absolute index and never moves position or limit.
 */
public final class Checksum {
    private Checksum() {}

    /**
     * Adds the bytes {@code [from, from + length)} of {@code b}, as 16-bit big-endian words (an odd
     * last byte is the high half of a word), to {@code initial}; returns the unfolded sum.
     */
    public static long sum(ByteBuffer b, int from, int length, long initial) {
        long s = initial;
        int i = from;
        int end = from + length;
        boolean swap = b.order() == ByteOrder.LITTLE_ENDIAN;
        // 32-bit halves of 64-bit reads, two accumulators, 16 bytes a turn: no carry is lost before
        // the final fold for any packet size (each accumulator stays below 2^48 for 64 KiB).
        long s2 = 0;
        for (; i + 16 <= end; i += 16) {
            long v = b.getLong(i), w = b.getLong(i + 8);
            if (swap) {
                v = Long.reverseBytes(v);
                w = Long.reverseBytes(w);
            }
            s += (v >>> 32) + (v & 0xffffffffL);
            s2 += (w >>> 32) + (w & 0xffffffffL);
        }
        s += s2;
        for (; i + 8 <= end; i += 8) {
            long v = b.getLong(i);
            if (swap) v = Long.reverseBytes(v);
            s += (v >>> 32) + (v & 0xffffffffL);
        }
        for (; i + 2 <= end; i += 2) s += (b.get(i) & 0xff) << 8 | b.get(i + 1) & 0xff;
        if (i < end) s += (b.get(i) & 0xff) << 8;
        return s;
    }

    /** Folds an unfolded sum to 16 bits (end-around carry); the checksum field holds its complement. */
    public static int fold(long sum) {
        long s = sum;
        while ((s >>> 16) != 0) s = (s & 0xffff) + (s >>> 16);
        return (int) s;
    }

    /** {@code ~fold(sum)} as the 16-bit value written into a checksum field. */
    public static int complement(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /**
     * The pseudo-header sum of the IP packet at {@code ip}: source and destination addresses, the
     * protocol, and {@code l4Length} (transport header plus payload, bytes). IPv4 when
     * {@code v6} is false (addresses at 12 and 16), IPv6 otherwise (at 8 and 24).
     */
    public static long pseudoHeader(ByteBuffer b, int ip, boolean v6, int protocol, int l4Length) {
        long s = v6 ? sum(b, ip + 8, 32, 0) : sum(b, ip + 12, 8, 0);
        return s + protocol + l4Length;
    }

    /** Whether the IPv4 header at {@code ip} ({@code length} bytes) has a correct header checksum. */
    public static boolean ipv4HeaderValid(ByteBuffer b, int ip, int length) {
        return fold(sum(b, ip, length, 0)) == 0xffff;
    }

    /** Recomputes the IPv4 header checksum of the header at {@code ip} ({@code length} bytes) in place. */
    public static void setIpv4Header(ByteBuffer b, int ip, int length) {
        putShort(b, ip + 10, 0);
        putShort(b, ip + 10, complement(sum(b, ip, length, 0)));
    }

    /** Writes a 16-bit big-endian value at {@code i}, whatever the buffer's byte order. */
    static void putShort(ByteBuffer b, int i, int v) {
        b.put(i, (byte) (v >>> 8));
        b.put(i + 1, (byte) v);
    }

    /** Reads a 16-bit big-endian value at {@code i}, whatever the buffer's byte order. */
    static int getShort(ByteBuffer b, int i) {
        return (b.get(i) & 0xff) << 8 | b.get(i + 1) & 0xff;
    }

    /** Reads a 32-bit big-endian value at {@code i}, whatever the buffer's byte order. */
    static int getInt(ByteBuffer b, int i) {
        return getShort(b, i) << 16 | getShort(b, i + 2);
    }

    /** Writes a 32-bit big-endian value at {@code i}, whatever the buffer's byte order. */
    static void putInt(ByteBuffer b, int i, int v) {
        putShort(b, i, v >>> 16);
        putShort(b, i + 2, v);
    }
}
