package io.wiremesh.wireguard.session;

import io.wiremesh.wireguard.Protocol;

/**
 * Sliding-window replay protection for transport counters (RFC 6479's ring of bitmap blocks, as
 * in the kernel driver): 8192 bits of which 8128 are usable, so packets may arrive that far out
 * of order. Not thread-safe: only the in-order receive stage touches it, after authentication.
 */
public final class ReplayWindow {
    private static final int BITS_PER_BLOCK = 64;
    private static final int RING_BLOCKS = 128;
    public static final int WINDOW_SIZE = (RING_BLOCKS - 1) * BITS_PER_BLOCK;

    private final long[] ring = new long[RING_BLOCKS];
    /** One more than the greatest counter accepted so far (0 = nothing accepted). */
    private long next;

    /** Returns true (and records the counter) when it is fresh; false for replays, too-old or exhausted counters. */
    public boolean accept(long counter) {
        if (Long.compareUnsigned(counter, Protocol.REJECT_AFTER_MESSAGES) >= 0) return false;
        long c = counter + 1;
        if (Long.compareUnsigned(c + WINDOW_SIZE, next) < 0) return false;
        long block = c >>> 6;
        if (Long.compareUnsigned(c, next) > 0) {
            long current = next >>> 6;
            long diff = Math.min(block - current, RING_BLOCKS);
            for (long i = 1; i <= diff; i++) ring[(int) ((current + i) & (RING_BLOCKS - 1))] = 0;
            next = c;
        }
        int idx = (int) (block & (RING_BLOCKS - 1));
        long bit = 1L << (c & (BITS_PER_BLOCK - 1));
        if ((ring[idx] & bit) != 0) return false;
        ring[idx] |= bit;
        return true;
    }

    /** One more than the greatest counter accepted (0: none yet); for a handover. */
    public long edge() {
        return next;
    }

    /** A copy of the bitmap blocks; for a handover. */
    public long[] blocks() {
        return ring.clone();
    }

    /**
     * Takes over a predecessor's window ({@link #edge}, {@link #blocks}): counters it accepted stay
     * replays here.
     *
     * @throws IllegalArgumentException {@code blocks} is not a window of this size
     */
    public void restore(long edge, long[] blocks) {
        if (blocks.length != RING_BLOCKS) throw new IllegalArgumentException("a replay window has " + RING_BLOCKS + " blocks, not " + blocks.length);
        System.arraycopy(blocks, 0, ring, 0, RING_BLOCKS);
        next = edge;
    }

    public void reset() {
        java.util.Arrays.fill(ring, 0);
        next = 0;
    }
}
