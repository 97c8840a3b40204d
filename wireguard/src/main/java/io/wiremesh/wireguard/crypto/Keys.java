package io.wiremesh.wireguard.crypto;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/** 32-byte WireGuard keys: encoding, comparison and erasure. */
public final class Keys {
    public static final int KEY_LEN = 32;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();

    private Keys() {}

    public static SecureRandom random() {
        return RANDOM;
    }

    public static boolean isZero(byte[] k) {
        int acc = 0;
        for (byte b : k) acc |= b;
        return acc == 0;
    }

    /** Constant-time comparison, for secrets and MACs. */
    public static boolean equal(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    public static void zero(byte[] k) {
        if (k != null) Arrays.fill(k, (byte) 0);
    }

    public static String toHex(byte[] k) {
        return HEX.formatHex(k);
    }

    public static byte[] fromHex(String s) {
        if (s.length() != KEY_LEN * 2) throw new IllegalArgumentException("key must be 64 hex digits");
        return HEX.parseHex(s);
    }

    public static String toBase64(byte[] k) {
        return Base64.getEncoder().encodeToString(k);
    }

    public static byte[] fromBase64(String s) {
        byte[] k = Base64.getDecoder().decode(s.trim());
        if (k.length != KEY_LEN) throw new IllegalArgumentException("key must decode to 32 bytes");
        return k;
    }
}
