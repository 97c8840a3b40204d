package io.wiremesh.node.psk;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.KDF;
import javax.crypto.spec.HKDFParameterSpec;

/**
 * The preshared key of a pair of nodes, epoch after epoch: each new key is HKDF-SHA256 (RFC 5869)
 * over the ML-KEM shared secret of that epoch, salted with the previous preshared key, so breaking
 * one epoch's exchange (or a future break of ML-KEM alone) does not give the next, and a recording of
 * every ciphertext is useless without the chain's first secret. The info binds the key to the pair
 * (in a fixed order), the epoch and the ciphertext that carried the secret, so no two pairs or
 * epochs can end up with the same key. Pure: the caller supplies the secret and stores the result.
 *
 * <pre>
 *   psk(e) = HKDF-Expand(HKDF-Extract(salt = psk(e-1) or 32 zero bytes, ikm = ss(e)),
 *                        "wiremesh psk v1" || len||lowerNode || len||higherNode || epoch(8, big-endian) || SHA-256(ct(e)), 32)
 * </pre>
 */
public final class PresharedKeyChain {
    /** The length of a WireGuard preshared key (whitepaper section 5.2: Q, 32 bytes). */
    public static final int KEY_BYTES = 32;
    private static final byte[] LABEL = "wiremesh psk v1".getBytes(StandardCharsets.US_ASCII);

    private PresharedKeyChain() {}

    /**
     * The preshared key of {@code epoch}.
     *
     * @param previous   the key of epoch - 1, or null to start a chain (after a reset: no common key)
     * @param secret     the ML-KEM shared secret of this epoch (32 bytes)
     * @param nodeA      one node's name; the order of the two names does not matter
     * @param nodeB      the other node's name
     * @param epoch      the epoch number, >= 1
     * @param ciphertext the ML-KEM ciphertext that carried {@code secret}
     * @return 32 bytes
     * @throws IllegalArgumentException on a secret or previous key of the wrong length, the same node twice, or an epoch < 1
     */
    public static byte[] next(byte[] previous, byte[] secret, String nodeA, String nodeB, long epoch, byte[] ciphertext) {
        if (secret == null || secret.length != 32) throw new IllegalArgumentException("the ML-KEM secret must be 32 bytes");
        if (previous != null && previous.length != KEY_BYTES) throw new IllegalArgumentException("a preshared key is 32 bytes");
        if (nodeA.equals(nodeB)) throw new IllegalArgumentException("a pair is two different nodes, not " + nodeA + " twice");
        if (epoch < 1) throw new IllegalArgumentException("epochs start at 1, not " + epoch);
        String lower = nodeA.compareTo(nodeB) < 0 ? nodeA : nodeB, higher = lower.equals(nodeA) ? nodeB : nodeA;
        try {
            byte[] info = info(lower, higher, epoch, MessageDigest.getInstance("SHA-256").digest(ciphertext));
            KDF hkdf = KDF.getInstance("HKDF-SHA256");
            HKDFParameterSpec spec = HKDFParameterSpec.ofExtract().addIKM(secret).addSalt(previous == null ? new byte[KEY_BYTES] : previous)
                    .thenExpand(info, KEY_BYTES);
            return hkdf.deriveData(spec);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 is part of every JDK 25: " + e.getMessage(), e);
        }
    }

    private static byte[] info(String lower, String higher, long epoch, byte[] ciphertextHash) {
        byte[] a = lower.getBytes(StandardCharsets.UTF_8), b = higher.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(LABEL.length + 2 + a.length + 2 + b.length + 8 + ciphertextHash.length)
                .put(LABEL).putShort((short) a.length).put(a).putShort((short) b.length).put(b).putLong(epoch).put(ciphertextHash).array();
    }
}
