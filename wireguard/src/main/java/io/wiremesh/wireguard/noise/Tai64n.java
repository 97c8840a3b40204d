package io.wiremesh.wireguard.noise;

import java.util.Arrays;

/**
 * TAI64N timestamps (12 bytes, big-endian seconds + 2^62 + 10, then nanoseconds). Initiations
 * carry one; a responder accepts only strictly increasing timestamps per peer, which defeats
 * replayed initiations.
 */
public final class Tai64n {
    public static final int SIZE = 12;
    private static final long BASE = 0x400000000000000aL;
    /** Nanoseconds are rounded down to ~16 ms so the timestamp does not leak a precise clock. */
    private static final int WHITENER_MASK = 0x1000000 - 1;

    private Tai64n() {}

    public static byte[] of(long epochSeconds, int nanos) {
        byte[] b = new byte[SIZE];
        long s = BASE + epochSeconds;
        for (int i = 0; i < 8; i++) b[i] = (byte) (s >>> (56 - 8 * i));
        int n = nanos & ~WHITENER_MASK;
        for (int i = 0; i < 4; i++) b[8 + i] = (byte) (n >>> (24 - 8 * i));
        return b;
    }

    public static byte[] now(java.time.Instant wall) {
        return of(wall.getEpochSecond(), wall.getNano());
    }

    /** True when {@code a} is strictly after {@code b} (unsigned, big-endian comparison). */
    public static boolean after(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b) > 0;
    }
}
