package io.wiremesh.node.psk;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.function.BiFunction;
import javax.crypto.KDF;
import javax.crypto.Mac;
import javax.crypto.spec.HKDFParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One message of the preshared-key exchange between two nodes: a UDP datagram from one node's overlay
 * address to the other's, port {@link #port} (the one after the mesh's WireGuard port), so it travels
 * inside their WireGuard tunnel. Both
 * sides encode and decode with this class (it is the exchange's one definition).
 *
 * <pre>
 *   "WMPQ" | version 1 | type | len sender | sender | len receiver | receiver | epoch (8, big-endian) | body | mac (32)
 *   OFFER body: base epoch (8) | SHA-256 of the receiver's ML-KEM public key (32) | ML-KEM-768 ciphertext (1,088)
 *   ACK   body: key confirmation (32) = HMAC-SHA256(new preshared key, "wiremesh psk ack" | epoch)
 *   NACK  body: reason (1)
 * </pre>
 *
 * The mac is HMAC-SHA256 over everything before it, keyed with {@link #macKey}: a key derived from
 * the X25519 Diffie-Hellman of the two nodes' WireGuard keys, which only the two holders of those
 * keys can compute. So a message is accepted only from the node it names as sender, whichever path
 * it took (a pod spoofing an overlay address cannot forge one). Authentication only has to hold
 * today, against an active attacker: a quantum computer that breaks X25519 later cannot go back and
 * inject an offer into a finished exchange.
 *
 * @param epoch the offered or acknowledged epoch; in a NACK the epoch the sender holds a key for (0: none)
 */
public record ExchangeMessage(Type type, String sender, String receiver, long epoch, long base, byte[] kemKeyId, byte[] ciphertext,
                              byte[] confirmation, Reason reason) {
    /**
     * The exchange's UDP port on a node's overlay address: the one after the node's WireGuard listen port
     * (51821 by default), never WireGuard's own, which binds every address (65534 for 65535).
     */
    public static int port(int listenPort) {
        return listenPort == 65535 ? 65534 : listenPort + 1;
    }
    /** ML-KEM-768 ciphertext length (FIPS 203, table 3). */
    public static final int CIPHERTEXT_BYTES = 1088;
    private static final byte[] MAGIC = {'W', 'M', 'P', 'Q'};
    private static final byte VERSION = 1;
    private static final int MAC_BYTES = 32;
    /** Longer than any message (an OFFER between two 253-character node names is 1,681 bytes). */
    public static final int MAX_BYTES = 2048;

    public enum Type {
        /** Initiator -> responder: a new epoch's ciphertext. */
        OFFER,
        /** Responder -> initiator: the new key is installed; its confirmation proves it is the same key. */
        ACK,
        /** Responder -> initiator: the offer cannot be used ({@link Reason}); the initiator starts over. */
        NACK
    }

    public enum Reason {
        /** The offer was encapsulated to an ML-KEM key the responder no longer holds: use the published one. */
        KEM_KEY,
        /** The offer's base epoch is not one the responder holds a key for: start a new chain above {@code epoch}; also the responder's announcement at start. */
        EPOCH
    }

    public static ExchangeMessage offer(String sender, String receiver, long epoch, long base, byte[] kemKeyId, byte[] ciphertext) {
        return new ExchangeMessage(Type.OFFER, sender, receiver, epoch, base, kemKeyId, ciphertext, null, null);
    }

    public static ExchangeMessage ack(String sender, String receiver, long epoch, byte[] confirmation) {
        return new ExchangeMessage(Type.ACK, sender, receiver, epoch, 0, null, null, confirmation, null);
    }

    public static ExchangeMessage nack(String sender, String receiver, long epoch, Reason reason) {
        return new ExchangeMessage(Type.NACK, sender, receiver, epoch, 0, null, null, null, reason);
    }

    /** The datagram, authenticated with {@code macKey} ({@link #macKey}). */
    public byte[] encode(byte[] macKey) {
        byte[] s = sender.getBytes(StandardCharsets.UTF_8), r = receiver.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(MAX_BYTES);
        b.put(MAGIC).put(VERSION).put((byte) type.ordinal()).put((byte) s.length).put(s).put((byte) r.length).put(r).putLong(epoch);
        switch (type) {
            case OFFER -> b.putLong(base).put(kemKeyId).put(ciphertext);
            case ACK -> b.put(confirmation);
            case NACK -> b.put((byte) reason.ordinal());
        }
        b.put(hmac(macKey, b.array(), b.position()));
        return Arrays.copyOf(b.array(), b.position());
    }

    /** Thrown for a datagram that is not a well-formed exchange message, or whose mac does not verify. */
    public static final class Rejected extends Exception {
        public Rejected(String message) {
            super(message);
        }
    }

    /**
     * Reads and authenticates a datagram.
     *
     * @param macKeyOf the mac key of the named sender and receiver, or null when they are not a pair this node is part of
     * @throws Rejected when the datagram is malformed, names an unknown pair, or its mac does not verify
     */
    public static ExchangeMessage decode(byte[] datagram, int length, BiFunction<String, String, byte[]> macKeyOf) throws Rejected {
        if (length < MAGIC.length + 2 + MAC_BYTES || !Arrays.equals(datagram, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) throw new Rejected("not an exchange message");
        ByteBuffer b = ByteBuffer.wrap(datagram, 0, length - MAC_BYTES);
        try {
            b.position(MAGIC.length);
            if (b.get() != VERSION) throw new Rejected("unknown version");
            int t = b.get();
            if (t < 0 || t >= Type.values().length) throw new Rejected("unknown type " + t);
            Type type = Type.values()[t];
            String sender = string(b), receiver = string(b);
            long epoch = b.getLong();
            byte[] macKey = macKeyOf.apply(sender, receiver);
            if (macKey == null) throw new Rejected("from " + sender + " to " + receiver + ": not a pair of this node");
            byte[] mac = hmac(macKey, datagram, length - MAC_BYTES);
            if (!MessageDigest.isEqual(mac, Arrays.copyOfRange(datagram, length - MAC_BYTES, length))) throw new Rejected("bad mac from " + sender);
            ExchangeMessage m = switch (type) {
                case OFFER -> offer(sender, receiver, epoch, b.getLong(), bytes(b, 32), bytes(b, CIPHERTEXT_BYTES));
                case ACK -> ack(sender, receiver, epoch, bytes(b, 32));
                case NACK -> {
                    int r = b.get();
                    if (r < 0 || r >= Reason.values().length) throw new Rejected("unknown reason " + r);
                    yield nack(sender, receiver, epoch, Reason.values()[r]);
                }
            };
            if (b.hasRemaining()) throw new Rejected("trailing bytes");
            return m;
        } catch (BufferUnderflowException e) {
            throw new Rejected("truncated");
        }
    }

    /**
     * The mac key of a pair of nodes: HKDF-SHA256 over X25519(own private key, peer public key), info
     * "wiremesh psk exchange v1" and the two names in a fixed order. Both nodes compute the same.
     *
     * @param dh the X25519 shared secret of the two nodes' WireGuard keys (32 bytes)
     */
    public static byte[] macKey(byte[] dh, String nodeA, String nodeB) {
        String lower = nodeA.compareTo(nodeB) < 0 ? nodeA : nodeB, higher = lower.equals(nodeA) ? nodeB : nodeA;
        byte[] info = ("wiremesh psk exchange v1\0" + lower + "\0" + higher).getBytes(StandardCharsets.UTF_8);
        try {
            return KDF.getInstance("HKDF-SHA256").deriveData(HKDFParameterSpec.ofExtract().addIKM(dh).thenExpand(info, 32));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 is part of every JDK 25: " + e.getMessage(), e);
        }
    }

    /** The key confirmation of an ACK: HMAC-SHA256(key, "wiremesh psk ack" | epoch). Reveals nothing about the key. */
    public static byte[] confirmation(byte[] presharedKey, long epoch) {
        byte[] label = "wiremesh psk ack".getBytes(StandardCharsets.US_ASCII);
        byte[] data = ByteBuffer.allocate(label.length + 8).put(label).putLong(epoch).array();
        return hmac(presharedKey, data, data.length);
    }

    /** SHA-256 of an ML-KEM public key (the X.509 bytes of the published base64): names the key an offer was made for. */
    public static byte[] kemKeyId(String kemPublicKeyBase64) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(java.util.Base64.getDecoder().decode(kemPublicKeyBase64));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data, int length) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(data, 0, length);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK: " + e.getMessage(), e);
        }
    }

    private static String string(ByteBuffer b) {
        int n = b.get() & 0xff;
        return new String(bytes(b, n), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    @Override
    public String toString() {
        return type + "[" + sender + " -> " + receiver + ", epoch " + epoch + (type == Type.OFFER ? ", base " + base : "")
                + (type == Type.NACK ? ", " + reason : "") + "]";
    }
}
