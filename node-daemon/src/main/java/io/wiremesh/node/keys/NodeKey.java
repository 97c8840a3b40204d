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
 * restart or reboot keeps the node's identity; only the public key ever leaves this class.
 */
public final class NodeKey {
    public static final String FILE = "private.key";
    private final byte[] privateKey;
    private final byte[] publicKey;

    private NodeKey(byte[] privateKey) {
        this.privateKey = privateKey;
        this.publicKey = X25519.publicKey(privateKey);
    }

    /** Loads the key from {@code dir}, creating it on first start. */
    public static NodeKey loadOrCreate(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (Files.exists(f)) {
            byte[] k = Keys.fromBase64(Files.readString(f, StandardCharsets.US_ASCII));
            return new NodeKey(k);
        }
        byte[] k = X25519.generatePrivateKey();
        StateFiles.writeAtomically(f, (Keys.toBase64(k) + "\n").getBytes(StandardCharsets.US_ASCII));
        return new NodeKey(k);
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
