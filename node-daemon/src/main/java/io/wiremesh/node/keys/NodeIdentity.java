package io.wiremesh.node.keys;

import io.wiremesh.api.identity.Proposal;
import io.wiremesh.node.StateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/**
 * The node's long-term signing identity: an Ed25519 key pair (RFC 8032) made on the node's first
 * start and kept on its disk ({@code identity.key}, mode 0600: the private key as PKCS#8, the public
 * key as 32 raw bytes, one base64 line each). Its public half is accepted by the operator on first
 * use; from then on only what it signs ({@link Proposal}) changes the keys and endpoints the other
 * nodes use. The private key never leaves this class, and is never replaced: a node that lost it is
 * re-accepted only by a re-created Node object or an admin's approval of the new fingerprint.
 *
 * <p>{@code proposal.generation} next to it holds the generation of the latest proposal signed, so
 * that every proposal of this identity has a higher generation than the ones before (no old proposal
 * can be replayed after a later one was accepted), across restarts.
 */
public final class NodeIdentity {
    public static final String FILE = "identity.key";
    public static final String GENERATION_FILE = "proposal.generation";
    private final Path dir;
    private final PrivateKey privateKey;
    private final String publicKey;
    private long generation;

    private NodeIdentity(Path dir, PrivateKey privateKey, PublicKey publicKey, long generation) {
        this.dir = dir;
        this.privateKey = privateKey;
        this.publicKey = Proposal.base64(publicKey);
        this.generation = generation;
    }

    /**
     * Loads the identity from {@code dir}, making it on first start.
     *
     * @throws IOException when the file exists but is not an Ed25519 identity: never silently replaced,
     *                     since a new identity needs an admin's approval (the message says how to proceed)
     */
    public static NodeIdentity loadOrCreate(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        try {
            if (Files.exists(f)) {
                String[] lines = Files.readString(f, StandardCharsets.US_ASCII).trim().split("\n");
                if (lines.length != 2) throw new IllegalArgumentException("two lines expected, found " + lines.length);
                PrivateKey priv = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(lines[0].trim())));
                PublicKey pub = Proposal.publicKey(lines[1].trim());
                NodeIdentity id = new NodeIdentity(dir, priv, pub, readGeneration(dir));
                if (!id.verifies()) throw new IllegalArgumentException("its two halves do not belong together");
                return id;
            }
            KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            StateFiles.writeAtomically(f, (Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()) + "\n"
                    + Proposal.base64(pair.getPublic()) + "\n").getBytes(StandardCharsets.US_ASCII));
            return new NodeIdentity(dir, pair.getPrivate(), pair.getPublic(), readGeneration(dir));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException(f + " is not an Ed25519 identity (" + e.getMessage() + "): move it away to make a new one, which an admin"
                    + " then approves (wiremesh node approve NODE FINGERPRINT)", e);
        }
    }

    private boolean verifies() throws GeneralSecurityException {
        byte[] probe = "wiremesh identity self-check".getBytes(StandardCharsets.US_ASCII);
        Signature v = Signature.getInstance("Ed25519");
        v.initVerify(Proposal.publicKey(publicKey));
        v.update(probe);
        return v.verify(sign(probe));
    }

    private static long readGeneration(Path dir) throws IOException {
        return StateFiles.readCounter(dir.resolve(GENERATION_FILE)); // unreadable: the accepted generation in the spec is the floor anyway
    }

    /** The public key (32 bytes, base64), as published in status.identityKey. */
    public String publicKeyBase64() {
        return publicKey;
    }

    /** {@link Proposal#fingerprint} of the public key: what an admin compares on the node and approves. */
    public String fingerprint() {
        return Proposal.fingerprint(publicKey);
    }

    /** A signed proposal: its generation and signature (base64). */
    public record Signed(long generation, String signature) {}

    /**
     * Signs a proposal of these values with a generation above both {@code acceptedGeneration} (the
     * spec's) and every generation this identity signed before, recorded on disk first.
     *
     * @param name      the WireGuardNode's name
     * @param endpoints the endpoints as published
     * @throws IOException when the generation cannot be recorded (nothing is signed then)
     */
    public synchronized Signed propose(String name, String node, long acceptedGeneration, String wgPublicKey, String kemPublicKey,
                                       java.util.List<String> endpoints) throws IOException {
        long next = Math.max(generation, acceptedGeneration) + 1;
        StateFiles.writeAtomically(dir.resolve(GENERATION_FILE), (next + "\n").getBytes(StandardCharsets.US_ASCII));
        generation = next;
        Proposal p = new Proposal(name, node, next, publicKey, wgPublicKey, kemPublicKey, endpoints);
        return new Signed(next, Base64.getEncoder().encodeToString(sign(p.message())));
    }

    private byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e); // a key this class made or checked
        }
    }

    @Override
    public String toString() {
        return "NodeIdentity[" + fingerprint() + "]";
    }
}
