package io.wiremesh.wireguard.crypto;

import java.nio.ByteBuffer;

/**
 * The transport AEAD of WireGuard (whitepaper 5.4.6): ChaCha20-Poly1305 (RFC 8439) with an empty
 * additional-data string and the 64-bit counter as nonce (four zero bytes, then the little-endian
 * counter). One instance per thread: instances keep per-call state.
 *
 * <p>{@link #create} picks the fastest implementation this host offers: OpenSSL's through Java's
 * foreign-function API when libcrypto.so.3 is present and agrees with the JDK on a known answer,
 * else the JDK's cipher ({@code WIREMESH_WG_AEAD=jdk|openssl} forces one).
 */
public interface Aead {
    int TAG_LEN = 16;

    /**
     * Encrypts {@code src} (position..limit) into {@code dst} at its position, tag appended; both may
     * be views of the same memory at the same offset. Returns the ciphertext length (plaintext + 16).
     *
     * @throws IllegalStateException the key was erased meanwhile or the cipher failed
     */
    int seal(SessionKey key, long counter, ByteBuffer src, ByteBuffer dst);

    /**
     * Decrypts and authenticates {@code src} (position..limit: ciphertext and tag) into {@code dst} at
     * its position (same-offset views allowed). Returns the plaintext length, or -1 when the tag does
     * not verify or the key was erased.
     */
    int open(SessionKey key, long counter, ByteBuffer src, ByteBuffer dst);

    /** Which implementation this is ("openssl" or "jdk"), for logs. */
    String name();

    /** The name of the implementation chosen for this process ("openssl" or "jdk"). */
    static String chosen() {
        return AeadChoice.INSTANCE.name;
    }

    /** A new instance of the implementation chosen for this process (see the class comment). */
    static Aead create() {
        return AeadChoice.INSTANCE.create();
    }
}
