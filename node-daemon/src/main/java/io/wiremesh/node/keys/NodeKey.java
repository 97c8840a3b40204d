package io.wiremesh.node.keys;

import io.wiremesh.node.StateFiles;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The node's WireGuard key pair. Generated once and kept on the node's disk (mode 0600), so a
 * restart or reboot keeps the node's identity; only the public key ever leaves this class. A
 * rotation ({@link #rotate}) replaces it with a new one and records the generation it answers
 * ({@code key.generation}: WireGuardNode spec.keyGeneration), next to it.
 */
public final class NodeKey {
    public static final String FILE = "private.key";
    /** The WireGuardNode spec.keyGeneration the key on disk was made for (a decimal number; absent: not known). */
    public static final String GENERATION_FILE = "key.generation";
    private final byte[] privateKey;
    private final byte[] publicKey;
    private final long generation;
    private final java.time.Instant created;

    private NodeKey(byte[] privateKey, long generation, java.time.Instant created) {
        this.privateKey = privateKey;
        this.publicKey = X25519.publicKey(privateKey);
        this.generation = generation;
        this.created = created;
    }

    /** Loads the key from {@code dir}, creating it on first start. */
    public static NodeKey loadOrCreate(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (Files.exists(f)) {
            byte[] k = Keys.fromBase64(Files.readString(f, StandardCharsets.US_ASCII));
            return new NodeKey(k, readGeneration(dir), Files.getLastModifiedTime(f).toInstant());
        }
        return write(dir, X25519.generatePrivateKey(), 0);
    }

    /**
     * Makes a new key for {@code generation} and stores it in place of this one (the key file first, then
     * the generation: a crash in between leaves a new key with the old generation, and the next start
     * rotates once more).
     */
    public static NodeKey rotate(Path dir, long generation) throws IOException {
        NodeKey k = write(dir, X25519.generatePrivateKey(), 0);
        recordGeneration(dir, generation);
        return new NodeKey(k.privateKey, generation, k.created);
    }

    /** Records that the key on disk answers {@code generation} (a node's first start adopts its WireGuardNode's). */
    public static void recordGeneration(Path dir, long generation) throws IOException {
        StateFiles.writeAtomically(dir.resolve(GENERATION_FILE), (generation + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static NodeKey write(Path dir, byte[] k, long generation) throws IOException {
        StateFiles.writeAtomically(dir.resolve(FILE), (Keys.toBase64(k) + "\n").getBytes(StandardCharsets.US_ASCII));
        return new NodeKey(k, generation, java.time.Instant.now());
    }

    private static long readGeneration(Path dir) throws IOException {
        return StateFiles.readCounter(dir.resolve(GENERATION_FILE));
    }

    /**
     * The spec.keyGeneration this key answers: the one it was made for, or, when that is not known (a node's first
     * start, or a key from before generations were recorded), {@code asked} (spec.keyGeneration now; null: 1), which
     * the caller then records ({@link #recordGeneration}).
     */
    public long answering(Long asked) {
        return generation != 0 ? generation : asked == null ? 1 : asked;
    }

    /** The spec.keyGeneration this key was made for; 0 when not known (before the first record). */
    public long generation() {
        return generation;
    }

    /** When the key was made (the key file's modification time). */
    public java.time.Instant created() {
        return created;
    }

    public String publicKeyBase64() {
        return Keys.toBase64(publicKey);
    }

    /** For programming the local interface only (UAPI / netlink), never for export. */
    public byte[] privateKeyForDevice() {
        return privateKey.clone();
    }

    /**
     * X25519(this node's private key, {@code peerPublicKey}) (RFC 7748): a secret only this node and the
     * holder of the peer key can compute; the preshared-key exchange authenticates its messages with it.
     *
     * @return 32 bytes, or null for a low-order (or malformed) peer key
     */
    public byte[] agreement(String peerPublicKey) {
        try {
            return X25519.dh(privateKey, Keys.fromBase64(peerPublicKey));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return "NodeKey[public=" + publicKeyBase64() + "]";
    }
}
