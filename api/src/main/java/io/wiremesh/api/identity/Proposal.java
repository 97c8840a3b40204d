package io.wiremesh.api.identity;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * What a node-daemon proposes in its WireGuardNode's status and signs with its identity, and the
 * check the operator applies before it accepts the values into the spec (the one definition both
 * sides use).
 *
 * <p>The signed message is UTF-8 text, one {@code field: value} line each, in this order, so no two
 * proposals share a message: a fixed first line (the domain, so no other signature of the key can be
 * passed off as a proposal), the WireGuardNode's name ({@code <mesh>.<node>}: a signature of one node
 * cannot be replayed for another), the node, the generation (strictly increasing per node: an old
 * proposal cannot be replayed once a later one was accepted), the Ed25519 identity key itself, the
 * WireGuard public key, the ML-KEM public key (empty for none) and the endpoints (comma-separated, in
 * order). Signatures are Ed25519 (RFC 8032, pure, no pre-hash), 64 bytes, base64.
 *
 * @param name         the WireGuardNode's metadata.name
 * @param node         spec.nodeName
 * @param generation   the proposal's generation, at least 1
 * @param identityKey  the node's Ed25519 public key (32 bytes, base64)
 * @param publicKey    the node's WireGuard public key (base64)
 * @param kemPublicKey the node's ML-KEM-768 public key (X.509, base64), or null
 * @param endpoints    the node's endpoints ({@code ip:port}, IPv6 in brackets)
 */
public record Proposal(String name, String node, long generation, String identityKey, String publicKey, String kemPublicKey,
                       List<String> endpoints) {
    /** First line of every signed message: the domain and the format's version. */
    static final String DOMAIN = "wiremesh.io/v1alpha1 WireGuardNode proposal";
    /** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): followed by the 32-byte key. */
    private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    public Proposal {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(identityKey, "identityKey");
        Objects.requireNonNull(publicKey, "publicKey");
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    /** The bytes the identity signs (see the class description). */
    public byte[] message() {
        String text = DOMAIN + "\n"
                + "name: " + name + "\n"
                + "node: " + node + "\n"
                + "generation: " + generation + "\n"
                + "identityKey: " + identityKey + "\n"
                + "publicKey: " + publicKey + "\n"
                + "kemPublicKey: " + (kemPublicKey == null ? "" : kemPublicKey) + "\n"
                + "endpoints: " + String.join(",", endpoints) + "\n";
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Whether {@code signature} (base64) is the identity key's Ed25519 signature of {@link #message()}.
     * False, never an exception, for a malformed key or signature: a node's status is untrusted input.
     */
    public boolean verify(String signature) {
        if (signature == null) return false;
        try {
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(publicKey(identityKey));
            v.update(message());
            return v.verify(Base64.getDecoder().decode(signature));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * An Ed25519 public key (32 bytes, base64) as a JDK key.
     *
     * @throws IllegalArgumentException when it is not 32 bytes of base64
     * @throws GeneralSecurityException when the JDK refuses it
     */
    public static PublicKey publicKey(String base64) throws GeneralSecurityException {
        byte[] raw = Base64.getDecoder().decode(base64);
        if (raw.length != 32) throw new IllegalArgumentException("an Ed25519 key is 32 bytes, not " + raw.length);
        byte[] der = new byte[X509_PREFIX.length + 32];
        System.arraycopy(X509_PREFIX, 0, der, 0, X509_PREFIX.length);
        System.arraycopy(raw, 0, der, X509_PREFIX.length, 32);
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    }

    /** The raw 32 bytes of an Ed25519 JDK public key, base64: the form published and signed. */
    public static String base64(PublicKey key) {
        byte[] der = key.getEncoded();
        if (der.length != X509_PREFIX.length + 32) throw new IllegalArgumentException("not an Ed25519 public key");
        return Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(der, X509_PREFIX.length, der.length));
    }

    /**
     * The fingerprint an admin compares and approves: {@code SHA256:} and the unpadded base64 of the
     * SHA-256 of the key's 32 bytes (the style of OpenSSH's, over the raw key).
     *
     * @throws IllegalArgumentException when {@code identityKey} is not base64
     */
    public static String fingerprint(String identityKey) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Base64.getDecoder().decode(identityKey));
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    /** Whether {@code s} has the shape of a {@link #fingerprint}: {@code SHA256:} and 43 base64 characters. */
    public static boolean isFingerprint(String s) {
        return s != null && s.matches("SHA256:[A-Za-z0-9+/]{43}");
    }
}
