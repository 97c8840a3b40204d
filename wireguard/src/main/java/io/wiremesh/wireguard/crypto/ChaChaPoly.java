package io.wiremesh.wireguard.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.SecretKey;

/**
 * AEAD(key, counter, plain, authtext): ChaCha20-Poly1305 with the 64-bit counter as nonce
 * (four zero bytes, then the little-endian counter), backed by the JDK's cipher (several times
 * faster than BouncyCastle's on JDK 25). The transport {@link Aead} where OpenSSL is missing, the
 * reference the OpenSSL one is checked against, and (static methods) the handshake's AEAD.
 *
 * <p>An instance is not thread-safe: each crypto worker owns one.
 */
public final class ChaChaPoly implements Aead {
    private static final String ALGORITHM = "ChaCha20-Poly1305";

    private final Cipher cipher;
    private final byte[] nonce = new byte[12];

    public ChaChaPoly() {
        try {
            cipher = Cipher.getInstance(ALGORITHM);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK lacks " + ALGORITHM, e);
        }
    }

    @Override
    public String name() {
        return "jdk";
    }

    public static SessionKey key(byte[] key) {
        return new SessionKey(key);
    }

    private IvParameterSpec nonce(long counter) {
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (counter >>> (8 * i));
        return new IvParameterSpec(nonce);
    }

    /**
     * Encrypts {@code src} (position..limit) into {@code dst} at its position; both may be views
     * of the same memory at the same offset. Returns the ciphertext length (plaintext + tag).
     */
    @Override
    public int seal(SessionKey key, long counter, ByteBuffer src, ByteBuffer dst) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, nonce(counter));
            return cipher.doFinal(src, dst);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("seal failed", e);
        }
    }

    /** Decrypts and authenticates; returns the plaintext length, or -1 when authentication fails. */
    @Override
    public int open(SessionKey key, long counter, ByteBuffer src, ByteBuffer dst) {
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce(counter));
            return cipher.doFinal(src, dst);
        } catch (GeneralSecurityException | IllegalStateException e) {
            return -1; // bad tag, or the session was erased meanwhile
        }
    }

    /** Handshake-path convenience: AEAD over byte arrays with additional data. */
    public static byte[] seal(byte[] key, long counter, byte[] plain, byte[] ad) {
        ChaChaPoly c = new ChaChaPoly();
        try {
            c.cipher.init(Cipher.ENCRYPT_MODE, key(key), c.nonce(counter));
            c.cipher.updateAAD(ad);
            return c.cipher.doFinal(plain);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("seal failed", e);
        }
    }

    /** Returns the plaintext, or null when authentication fails. */
    public static byte[] open(byte[] key, long counter, byte[] ciphertext, byte[] ad) {
        ChaChaPoly c = new ChaChaPoly();
        try {
            c.cipher.init(Cipher.DECRYPT_MODE, key(key), c.nonce(counter));
            c.cipher.updateAAD(ad);
            return c.cipher.doFinal(ciphertext);
        } catch (GeneralSecurityException e) {
            return null;
        }
    }

}
