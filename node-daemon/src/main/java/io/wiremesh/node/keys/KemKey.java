package io.wiremesh.node.keys;

import io.wiremesh.node.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import javax.crypto.DecapsulateException;
import javax.crypto.KEM;

/**
 * The node's ML-KEM-768 key pair (FIPS 203), for the post-quantum preshared keys between nodes. Kept
 * on the node's disk like the WireGuard key ({@code kem.key}, mode 0600: the private key as PKCS#8 and
 * the public key as X.509, one base64 line each) and made anew when the file is missing or unreadable; only the public key (X.509 SubjectPublicKeyInfo, 1,206 bytes)
 * leaves this class. Encapsulation and decapsulation are the JDK's ({@code KEM "ML-KEM"}).
 */
public final class KemKey {
    public static final String FILE = "kem.key";
    /** The parameter set: NIST category 3, the one TLS and Rosenpass-like exchanges use. */
    public static final String ALGORITHM = "ML-KEM-768";
    private final PrivateKey privateKey;
    private final PublicKey publicKey;

    private KemKey(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    /**
     * Loads the key pair from {@code dir}, or makes and stores a new one when there is none or the file
     * cannot be read as an ML-KEM-768 private key (a node that lost its key publishes the new public
     * key; its peers follow within one interval).
     */
    public static KemKey loadOrCreate(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (Files.exists(f)) {
            try {
                String[] lines = Files.readString(f).trim().split("\n");
                if (lines.length != 2) throw new IllegalArgumentException("two lines expected, found " + lines.length);
                KeyFactory kf = KeyFactory.getInstance(ALGORITHM);
                return new KemKey(kf.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(lines[0].trim()))),
                        kf.generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(lines[1].trim()))));
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                System.err.println("wiremesh node-daemon: " + f + " is not an " + ALGORITHM + " key (" + e.getMessage() + "): making a new one");
            }
        }
        try {
            KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
            StateFiles.writeAtomically(f, (Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()) + "\n"
                    + Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new KemKey(pair.getPrivate(), pair.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IOException("this JDK cannot make " + ALGORITHM + " keys: " + e.getMessage(), e);
        }
    }

    /** The public key to publish: X.509 SubjectPublicKeyInfo, base64. */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }

    /** A shared secret and the ciphertext that carries it to the holder of {@code peerPublicKey} (X.509, base64). */
    public record Encapsulated(byte[] secret, byte[] ciphertext) {}

    /**
     * Encapsulates a fresh 32-byte secret to a peer's published public key.
     *
     * @throws GeneralSecurityException when the published key is not an ML-KEM-768 public key
     */
    public static Encapsulated encapsulate(String peerPublicKeyBase64) throws GeneralSecurityException {
        PublicKey peer = KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(peerPublicKeyBase64)));
        KEM.Encapsulated e = KEM.getInstance("ML-KEM").newEncapsulator(peer).encapsulate();
        return new Encapsulated(e.key().getEncoded(), e.encapsulation());
    }

    /**
     * The 32-byte secret inside a ciphertext made for this node's public key.
     *
     * @throws DecapsulateException when the ciphertext is malformed (a wrong but well-formed one yields a
     *                              different secret: ML-KEM rejects implicitly)
     */
    public byte[] decapsulate(byte[] ciphertext) throws GeneralSecurityException {
        return KEM.getInstance("ML-KEM").newDecapsulator(privateKey).decapsulate(ciphertext).getEncoded();
    }

    @Override
    public String toString() {
        return "KemKey[" + ALGORITHM + "]";
    }
}
