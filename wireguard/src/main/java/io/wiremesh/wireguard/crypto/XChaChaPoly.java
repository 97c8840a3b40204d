package io.wiremesh.wireguard.crypto;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * XAEAD of the whitepaper (XChaCha20-Poly1305), used only for cookie replies. The JDK has no
 * XChaCha20, so the 24-byte nonce is reduced with HChaCha20 to a subkey plus a 12-byte nonce.
 */
public final class XChaChaPoly {
    public static final int NONCE_LEN = 24;

    private XChaChaPoly() {}

    public static byte[] seal(byte[] key, byte[] nonce24, byte[] plain, byte[] ad) {
        return run(Cipher.ENCRYPT_MODE, key, nonce24, plain, ad);
    }

    /** Returns null when authentication fails. */
    public static byte[] open(byte[] key, byte[] nonce24, byte[] ciphertext, byte[] ad) {
        return run(Cipher.DECRYPT_MODE, key, nonce24, ciphertext, ad);
    }

    private static byte[] run(int mode, byte[] key, byte[] nonce24, byte[] in, byte[] ad) {
        byte[] subKey = hchacha20(key, nonce24);
        byte[] nonce = new byte[12];
        System.arraycopy(nonce24, 16, nonce, 4, 8);
        try {
            Cipher c = Cipher.getInstance("ChaCha20-Poly1305");
            c.init(mode, ChaChaPoly.key(subKey), new IvParameterSpec(nonce));
            c.updateAAD(ad);
            return c.doFinal(in);
        } catch (GeneralSecurityException e) {
            if (mode == Cipher.DECRYPT_MODE) return null;
            throw new IllegalStateException("xseal failed", e);
        } finally {
            Keys.zero(subKey);
        }
    }

    /** HChaCha20 (draft-irtf-cfrg-xchacha): 20 ChaCha rounds, output words 0..3 and 12..15. */
    static byte[] hchacha20(byte[] key, byte[] nonce) {
        int[] s = new int[16];
        s[0] = 0x61707865;
        s[1] = 0x3320646e;
        s[2] = 0x79622d32;
        s[3] = 0x6b206574;
        for (int i = 0; i < 8; i++) s[4 + i] = le32(key, i * 4);
        for (int i = 0; i < 4; i++) s[12 + i] = le32(nonce, i * 4);
        for (int i = 0; i < 10; i++) {
            quarter(s, 0, 4, 8, 12);
            quarter(s, 1, 5, 9, 13);
            quarter(s, 2, 6, 10, 14);
            quarter(s, 3, 7, 11, 15);
            quarter(s, 0, 5, 10, 15);
            quarter(s, 1, 6, 11, 12);
            quarter(s, 2, 7, 8, 13);
            quarter(s, 3, 4, 9, 14);
        }
        byte[] out = new byte[32];
        for (int i = 0; i < 4; i++) {
            put32(out, i * 4, s[i]);
            put32(out, 16 + i * 4, s[12 + i]);
        }
        return out;
    }

    private static void quarter(int[] s, int a, int b, int c, int d) {
        s[a] += s[b]; s[d] = Integer.rotateLeft(s[d] ^ s[a], 16);
        s[c] += s[d]; s[b] = Integer.rotateLeft(s[b] ^ s[c], 12);
        s[a] += s[b]; s[d] = Integer.rotateLeft(s[d] ^ s[a], 8);
        s[c] += s[d]; s[b] = Integer.rotateLeft(s[b] ^ s[c], 7);
    }

    private static int le32(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    private static void put32(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
        b[o + 2] = (byte) (v >>> 16);
        b[o + 3] = (byte) (v >>> 24);
    }
}
