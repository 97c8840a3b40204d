package io.wiremesh.wireguard.noise;

import static io.wiremesh.wireguard.noise.Messages.*;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Blake2s;
import io.wiremesh.wireguard.crypto.ChaChaPoly;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;

/**
 * The Noise_IKpsk2 handshake state of one peer (whitepaper section 5.4.2 - 5.4.5). Sans-I/O:
 * methods take and return message bytes; the caller adds MACs, sends and receives. The names
 * follow the paper: C (chaining key), H (hash), E (ephemeral), S (static), Q (preshared key).
 */
public final class Handshake {
    public enum State { ZEROED, INITIATION_CREATED, INITIATION_CONSUMED, RESPONSE_CREATED, RESPONSE_CONSUMED }

    /** C0 = HASH(CONSTRUCTION), H0 = HASH(C0 || IDENTIFIER): the same for every handshake. */
    static final byte[] INITIAL_CHAIN_KEY = Blake2s.hash(Protocol.CONSTRUCTION);
    static final byte[] INITIAL_HASH = Blake2s.hash(INITIAL_CHAIN_KEY, Protocol.IDENTIFIER);
    private static final byte[] EMPTY = new byte[0];

    private Identity local;
    public final byte[] remoteStatic;
    private byte[] presharedKey = new byte[Keys.KEY_LEN];
    /** DH(S_priv_local, S_pub_remote), computed once per key change. */
    private byte[] precomputedStaticStatic;

    private State state = State.ZEROED;
    private byte[] hash;
    private byte[] chainKey;
    private byte[] localEphemeral;
    private byte[] remoteEphemeral;
    private int localIndex;
    private int remoteIndex;
    private byte[] latestTimestamp = new byte[Tai64n.SIZE];
    private long lastInitiationConsumed = Long.MIN_VALUE;

    public Handshake(Identity local, byte[] remoteStatic) {
        this.remoteStatic = remoteStatic.clone();
        setIdentity(local);
    }

    public synchronized void setIdentity(Identity local) {
        this.local = local;
        Keys.zero(precomputedStaticStatic);
        precomputedStaticStatic = local == null ? null : X25519.dh(local.privateKey, remoteStatic);
        clear();
    }

    public synchronized void setPresharedKey(byte[] psk) {
        Keys.zero(presharedKey);
        presharedKey = psk.clone();
    }

    public synchronized byte[] presharedKey() {
        return presharedKey.clone();
    }

    public synchronized State state() {
        return state;
    }

    public synchronized int localIndex() {
        return localIndex;
    }

    public synchronized int remoteIndex() {
        return remoteIndex;
    }

    /** The greatest TAI64N timestamp accepted in an initiation (12 bytes; all zeros: none); a copy. */
    public synchronized byte[] latestTimestamp() {
        return latestTimestamp.clone();
    }

    /** Continues a predecessor's replay protection (whitepaper 5.1): initiations not newer than {@code timestamp} are refused. */
    public synchronized void restoreLatestTimestamp(byte[] timestamp) {
        if (timestamp.length == Tai64n.SIZE && Tai64n.after(timestamp, latestTimestamp)) latestTimestamp = timestamp.clone();
    }

    /** Forget all ephemeral state (but not the replay-protection timestamp). */
    public synchronized void clear() {
        Keys.zero(localEphemeral);
        Keys.zero(chainKey);
        Keys.zero(hash);
        localEphemeral = null;
        remoteEphemeral = null;
        chainKey = null;
        hash = null;
        localIndex = 0;
        state = State.ZEROED;
    }

    /** True when we hold a usable static configuration (a private key, and a peer key that is not low-order). */
    public synchronized boolean usable() {
        return local != null && precomputedStaticStatic != null;
    }

    // --- Initiator: section 5.4.2 ---

    /**
     * Builds a handshake initiation (148 bytes, mac1/mac2 left zero). {@code ephemeralPrivate} is
     * normally fresh random; tests pass a fixed one for known-answer checks.
     */
    public synchronized byte[] createInitiation(int senderIndex, byte[] ephemeralPrivate, byte[] timestamp) {
        if (!usable()) return null;
        byte[] msg = new byte[Protocol.INITIATION_SIZE];
        msg[0] = Protocol.MESSAGE_INITIATION;
        putInt(msg, INIT_SENDER, senderIndex);

        byte[] c = INITIAL_CHAIN_KEY;
        byte[] h = Blake2s.hash(INITIAL_HASH, remoteStatic);
        byte[] ePub = X25519.publicKey(ephemeralPrivate);
        System.arraycopy(ePub, 0, msg, INIT_EPHEMERAL, 32);
        c = Blake2s.kdf(1, c, ePub)[0];
        h = Blake2s.hash(h, ePub);

        byte[] es = X25519.dh(ephemeralPrivate, remoteStatic);
        if (es == null) return null;
        byte[][] ck = Blake2s.kdf(2, c, es);
        c = ck[0];
        byte[] encStatic = ChaChaPoly.seal(ck[1], 0, local.publicKey, h);
        System.arraycopy(encStatic, 0, msg, INIT_STATIC, encStatic.length);
        h = Blake2s.hash(h, encStatic);

        ck = Blake2s.kdf(2, c, precomputedStaticStatic);
        c = ck[0];
        byte[] encTime = ChaChaPoly.seal(ck[1], 0, timestamp, h);
        System.arraycopy(encTime, 0, msg, INIT_TIMESTAMP, encTime.length);
        h = Blake2s.hash(h, encTime);

        clear();
        this.chainKey = c;
        this.hash = h;
        this.localEphemeral = ephemeralPrivate.clone();
        this.localIndex = senderIndex;
        this.state = State.INITIATION_CREATED;
        return msg;
    }

    // --- Responder: section 5.4.2 (consume) and 5.4.3 (respond) ---

    /** Result of the first, peer-independent half of consuming an initiation. */
    public record Initiation(byte[] remoteStatic, byte[] chainKey, byte[] hash, byte[] remoteEphemeral,
                             int senderIndex, byte[] encryptedTimestamp) {}

    /**
     * Decrypts the initiator's static key with our identity. Returns null when the message does
     * not authenticate. The caller then finds the peer by {@link Initiation#remoteStatic()} and
     * calls {@link #consumeInitiation}.
     */
    public static Initiation openInitiation(Identity local, byte[] msg) {
        if (local == null || msg.length != Protocol.INITIATION_SIZE) return null;
        byte[] c = INITIAL_CHAIN_KEY;
        byte[] h = Blake2s.hash(INITIAL_HASH, local.publicKey);
        byte[] ePub = slice(msg, INIT_EPHEMERAL, 32);
        c = Blake2s.kdf(1, c, ePub)[0];
        h = Blake2s.hash(h, ePub);
        byte[] es = X25519.dh(local.privateKey, ePub);
        if (es == null) return null;
        byte[][] ck = Blake2s.kdf(2, c, es);
        c = ck[0];
        byte[] encStatic = slice(msg, INIT_STATIC, 48);
        byte[] remote = ChaChaPoly.open(ck[1], 0, encStatic, h);
        if (remote == null) return null;
        h = Blake2s.hash(h, encStatic);
        return new Initiation(remote, c, h, ePub, getInt(msg, INIT_SENDER), slice(msg, INIT_TIMESTAMP, 28));
    }

    public enum Verdict { ACCEPTED, BAD_MAC, REPLAYED_TIMESTAMP, FLOOD }

    /** Second half: authenticates the timestamp with the static-static secret and applies replay and flood checks. */
    public synchronized Verdict consumeInitiation(Initiation in, long nowNanos) {
        if (!usable()) return Verdict.BAD_MAC;
        byte[][] ck = Blake2s.kdf(2, in.chainKey(), precomputedStaticStatic);
        byte[] timestamp = ChaChaPoly.open(ck[1], 0, in.encryptedTimestamp(), in.hash());
        if (timestamp == null) return Verdict.BAD_MAC;
        byte[] h = Blake2s.hash(in.hash(), in.encryptedTimestamp());
        if (!Tai64n.after(timestamp, latestTimestamp)) return Verdict.REPLAYED_TIMESTAMP;
        if (lastInitiationConsumed != Long.MIN_VALUE
                && nowNanos - lastInitiationConsumed < Protocol.HANDSHAKE_INITIATION_RATE) {
            return Verdict.FLOOD;
        }
        clear();
        latestTimestamp = timestamp;
        lastInitiationConsumed = nowNanos;
        chainKey = ck[0];
        hash = h;
        remoteEphemeral = in.remoteEphemeral();
        remoteIndex = in.senderIndex();
        state = State.INITIATION_CONSUMED;
        return Verdict.ACCEPTED;
    }

    /** Builds the handshake response (92 bytes, MACs zero), or null if no initiation was consumed. */
    public synchronized byte[] createResponse(int senderIndex, byte[] ephemeralPrivate) {
        if (state != State.INITIATION_CONSUMED) return null;
        byte[] msg = new byte[Protocol.RESPONSE_SIZE];
        msg[0] = Protocol.MESSAGE_RESPONSE;
        putInt(msg, RESP_SENDER, senderIndex);
        putInt(msg, RESP_RECEIVER, remoteIndex);

        byte[] c = chainKey;
        byte[] h = hash;
        byte[] ePub = X25519.publicKey(ephemeralPrivate);
        System.arraycopy(ePub, 0, msg, RESP_EPHEMERAL, 32);
        c = Blake2s.kdf(1, c, ePub)[0];
        h = Blake2s.hash(h, ePub);
        byte[] ee = X25519.dh(ephemeralPrivate, remoteEphemeral);
        byte[] se = X25519.dh(ephemeralPrivate, remoteStatic);
        if (ee == null || se == null) return null;
        c = Blake2s.kdf(1, c, ee)[0];
        c = Blake2s.kdf(1, c, se)[0];
        byte[][] ctk = Blake2s.kdf(3, c, presharedKey);
        c = ctk[0];
        h = Blake2s.hash(h, ctk[1]);
        byte[] empty = ChaChaPoly.seal(ctk[2], 0, EMPTY, h);
        System.arraycopy(empty, 0, msg, RESP_EMPTY, empty.length);
        h = Blake2s.hash(h, empty);

        Keys.zero(chainKey);
        chainKey = c;
        hash = h;
        localEphemeral = ephemeralPrivate.clone();
        localIndex = senderIndex;
        state = State.RESPONSE_CREATED;
        return msg;
    }

    // --- Initiator: section 5.4.3 (consume response) ---

    /** Consumes a response addressed to our pending initiation. Returns false when it does not authenticate. */
    public synchronized boolean consumeResponse(byte[] msg) {
        if (state != State.INITIATION_CREATED || msg.length != Protocol.RESPONSE_SIZE) return false;
        if (getInt(msg, RESP_RECEIVER) != localIndex) return false;
        byte[] c = chainKey;
        byte[] h = hash;
        byte[] ePub = slice(msg, RESP_EPHEMERAL, 32);
        c = Blake2s.kdf(1, c, ePub)[0];
        h = Blake2s.hash(h, ePub);
        byte[] ee = X25519.dh(localEphemeral, ePub);
        byte[] se = X25519.dh(local.privateKey, ePub);
        if (ee == null || se == null) return false;
        c = Blake2s.kdf(1, c, ee)[0];
        c = Blake2s.kdf(1, c, se)[0];
        byte[][] ctk = Blake2s.kdf(3, c, presharedKey);
        c = ctk[0];
        h = Blake2s.hash(h, ctk[1]);
        byte[] empty = slice(msg, RESP_EMPTY, 16);
        if (ChaChaPoly.open(ctk[2], 0, empty, h) == null) return false;
        h = Blake2s.hash(h, empty);

        Keys.zero(chainKey);
        chainKey = c;
        hash = h;
        remoteIndex = getInt(msg, RESP_SENDER);
        state = State.RESPONSE_CONSUMED;
        return true;
    }

    // --- Section 5.4.5: transport keys ---

    /** Derived transport keys; the handshake state is erased afterwards. */
    public record SessionKeys(byte[] sendKey, byte[] receiveKey, boolean initiator, int localIndex, int remoteIndex) {}

    public synchronized SessionKeys deriveKeys() {
        boolean initiator;
        if (state == State.RESPONSE_CONSUMED) initiator = true;
        else if (state == State.RESPONSE_CREATED) initiator = false;
        else return null;
        byte[][] t = Blake2s.kdf(2, chainKey, EMPTY);
        SessionKeys keys = initiator
                ? new SessionKeys(t[0], t[1], true, localIndex, remoteIndex)
                : new SessionKeys(t[1], t[0], false, localIndex, remoteIndex);
        clear();
        return keys;
    }

    /** For tests that check erasure of key material. */
    synchronized boolean holdsEphemeralState() {
        return chainKey != null || hash != null || localEphemeral != null;
    }

    @Override
    public String toString() {
        return "Handshake[" + state + ", remote=" + Keys.toBase64(remoteStatic).substring(0, 8) + "]";
    }
}
