package io.wiremesh.node.psk;

import io.wiremesh.node.psk.ExchangeMessage.Reason;
import io.wiremesh.node.psk.ExchangeMessage.Type;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This node's side of the preshared-key chain with one other node: the epoch state machine of the
 * exchange, sans I/O (messages in, messages and "install this key" out; the caller owns the socket,
 * the clock, the files and the WireGuard interface).
 *
 * <p>Roles are fixed by name: the node whose name sorts first is the initiator. Each interval the
 * initiator encapsulates a fresh secret to the responder's published ML-KEM key and sends an OFFER
 * of epoch e+1 based on epoch e. The responder derives the key ({@link PresharedKeyChain}), installs
 * it, and answers ACK with a key confirmation; the initiator installs on that ACK. A preshared key is
 * used only by the next handshake (WireGuard sessions live on until REJECT_AFTER_TIME, 180 s, and a
 * failed rekey is retried after REKEY_TIMEOUT, 5 s), so the round trip between the two installs
 * costs no packet: at worst one handshake attempt in that window fails and is retried.
 *
 * <p>Lateness and loss:
 * <ul>
 *   <li>a lost OFFER or ACK: the initiator resends the same offer (backing off from 1 s to 8 s); the
 *       responder answers an offer it already took with the same ACK;</li>
 *   <li>an initiator that restarted before the ACK: it offers at its first step after start (after the
 *       caller's start delay), based on the epoch it holds; the responder, which kept its previous key, redoes the epoch from it;</li>
 *   <li>bases that do not meet (state lost on one side): NACK EPOCH, and the initiator starts a new
 *       chain (base 0, no previous key) above the responder's epoch; the responder also announces its
 *       epoch once at start (a NACK EPOCH nobody asked for), so a loss on either side is noticed at
 *       once, not at the next interval; an ACK whose confirmation does not match the offer (the
 *       responder took an older offer of the same epoch last) starts a new chain as well;</li>
 *   <li>the responder's ML-KEM key changed: NACK KEM_KEY; the initiator offers to the newly published
 *       key as soon as it sees it;</li>
 *   <li>either node's WireGuard key changed (a re-imaged node): the chain starts over without a key on
 *       both sides;</li>
 *   <li>keys that no longer match and no exchange gets through (the exchange travels in the tunnel the
 *       keys protect): when the peer's last handshake is older than {@link #FALLBACK_HANDSHAKE_AGE}
 *       (rekeys have been failing for 30 s, the session is still valid) and no exchange completed for
 *       {@link #fallbackAfter}, the side drops the key; both sides do (each from its own interface's
 *       handshake times: a side that cannot read them keeps its key), the next handshake needs none,
 *       and the next exchange starts a new chain.</li>
 * </ul>
 * Times are wall-clock milliseconds (they are also stored).
 */
public final class PairChain {
    /** A handshake older than this means rekeys are failing: REKEY_AFTER_TIME (120 s) + 30 s, below REJECT_AFTER_TIME (180 s). */
    public static final Duration FALLBACK_HANDSHAKE_AGE = Duration.ofSeconds(150);
    static final long FIRST_RESEND_MILLIS = 1000, MAX_RESEND_MILLIS = 8000;

    /** Encapsulation to a published ML-KEM key ({@link io.wiremesh.node.keys.KemKey#encapsulate}). */
    public interface Encapsulator {
        io.wiremesh.node.keys.KemKey.Encapsulated encapsulate(String peerKemPublicKey) throws GeneralSecurityException;
    }

    /** Decapsulation with this node's ML-KEM private key. */
    public interface Decapsulator {
        byte[] decapsulate(byte[] ciphertext) throws GeneralSecurityException;
    }

    /** What happened in a step, for the metrics. */
    public enum Event { NONE, ROTATED, FAILED, FELL_BACK }

    /**
     * The result of a step.
     *
     * @param send       a message to send to the peer, or null
     * @param keyChanged the key to install changed ({@link #presharedKey()}): install it before sending {@code send}
     */
    public record Step(ExchangeMessage send, boolean keyChanged, Event event) {
        static final Step NOTHING = new Step(null, false, Event.NONE);
    }

    private record Pending(ExchangeMessage offer, byte[] key, String kemKey, long firstSent, long nextSend, long backoff) {}

    private final String self;
    private final String peer;
    private final boolean initiator;
    private String ownPublicKey;
    private String peerPublicKey;
    private long epoch;
    private byte[] key;
    private long previousEpoch;
    private byte[] previousKey;
    /** SHA-256 of the ciphertext of the offer the responder last took (to answer a resend with the same ACK). */
    private byte[] acceptedOffer;
    private long keyMadeAt;
    private long lastExchange;
    // Initiator only, not stored:
    private Pending pending;
    private boolean offeredSinceStart;
    private boolean reset;
    private long nackedEpoch;
    private long notBefore;
    private String kemKeyOfKey;
    // Responder only, not stored:
    private boolean announced;
    // Not stored:
    private final long startDelay;
    private long firstTick = -1;

    public PairChain(String self, String peer) {
        this(self, peer, 0);
    }

    /**
     * @param startDelayMillis how long after its first tick the chain waits before its first offer: the caller
     *                         spreads the first offers of all its pairs (a node with 500 pairs would otherwise send,
     *                         and its peers receive, 500 offers in the same second at start)
     */
    public PairChain(String self, String peer, long startDelayMillis) {
        if (self.equals(peer)) throw new IllegalArgumentException("a pair is two different nodes");
        this.self = self;
        this.peer = peer;
        this.initiator = self.compareTo(peer) < 0;
        this.startDelay = startDelayMillis;
    }

    public String peer() {
        return peer;
    }

    public boolean initiator() {
        return initiator;
    }

    /** The current preshared key (base64), or null for none yet. */
    public synchronized String presharedKey() {
        return key == null ? null : Base64.getEncoder().encodeToString(key);
    }

    public synchronized long epoch() {
        return epoch;
    }

    /** When the current key was made (wall-clock ms), or 0 when there is none. */
    public synchronized long keyMadeAt() {
        return key == null ? 0 : keyMadeAt;
    }

    /**
     * Binds the chain to both nodes' current WireGuard public keys. When either differs from the keys the
     * chain was made with (a node was re-imaged, or rotated its key), the chain starts over without a
     * key: the other side sees the same change and does the same, so neither keeps a key the other lacks.
     *
     * @return true when the key to install changed (it is now none)
     */
    public synchronized boolean bind(String ownPublicKey, String peerPublicKey) {
        if (ownPublicKey.equals(this.ownPublicKey) && peerPublicKey.equals(this.peerPublicKey)) return false;
        if (this.ownPublicKey == null && peerPublicKey.equals(this.peerPublicKey)) {
            this.ownPublicKey = ownPublicKey; // stored before the own key was recorded with the chain: nothing changed
            return false;
        }
        boolean had = key != null;
        if (this.ownPublicKey != null || this.peerPublicKey != null) {
            dropKey();
            announced = false; // a responder announces again: its first message makes the handshake with the new key
        }
        this.ownPublicKey = ownPublicKey;
        this.peerPublicKey = peerPublicKey;
        return had && key == null;
    }

    /**
     * One tick of the clock (the caller ticks about every second).
     *
     * @param peerKemKey               the peer's published ML-KEM public key (base64), or null when it publishes none
     * @param lastHandshakeEpochSeconds the peer's latest handshake as the interface reports it, 0 for none, -1 when unknown
     */
    public synchronized Step tick(long now, Duration interval, String peerKemKey, long lastHandshakeEpochSeconds, Encapsulator kem) {
        if (firstTick < 0) firstTick = now;
        if (now - firstTick < startDelay) return Step.NOTHING;
        Event event = Event.NONE;
        boolean changed = false;
        if (key != null && handshakeStale(now, lastHandshakeEpochSeconds) && now - lastExchange > fallbackAfter(interval).toMillis()) {
            dropKey();
            changed = true;
            event = Event.FELL_BACK;
        }
        if (!initiator) {
            // At start the responder announces its epoch once, so an initiator whose key it lost (or that lost its
            // own) starts a new chain now rather than at its next interval.
            ExchangeMessage hello = null;
            if (!announced && peerPublicKey != null && ownPublicKey != null) {
                hello = ExchangeMessage.nack(self, peer, heldEpoch(), Reason.EPOCH);
                announced = true;
            }
            return changed || hello != null ? new Step(hello, changed, event) : Step.NOTHING;
        }
        if (pending != null && now - pending.firstSent() >= giveUpAfter(interval).toMillis()) {
            pending = null;
            event = event == Event.NONE ? Event.FAILED : event;
        }
        if (pending != null) {
            if (now < pending.nextSend()) return new Step(null, changed, event);
            long backoff = Math.min(pending.backoff() * 2, MAX_RESEND_MILLIS);
            pending = new Pending(pending.offer(), pending.key(), pending.kemKey(), pending.firstSent(), now + backoff, backoff);
            return new Step(pending.offer(), changed, event);
        }
        if (peerKemKey == null || peerPublicKey == null || ownPublicKey == null || now < notBefore) return new Step(null, changed, event);
        boolean due = !offeredSinceStart || key == null || now - keyMadeAt >= interval.toMillis() || !peerKemKey.equals(kemKeyOfKey);
        if (!due) return new Step(null, changed, event);
        byte[] base = reset ? null : key;
        long baseEpoch = base == null ? 0 : epoch;
        long next = Math.max(epoch, nackedEpoch) + 1;
        try {
            var e = kem.encapsulate(peerKemKey);
            byte[] k = PresharedKeyChain.next(base, e.secret(), self, peer, next, e.ciphertext());
            ExchangeMessage offer = ExchangeMessage.offer(self, peer, next, baseEpoch, ExchangeMessage.kemKeyId(peerKemKey), e.ciphertext());
            pending = new Pending(offer, k, peerKemKey, now, now + FIRST_RESEND_MILLIS, FIRST_RESEND_MILLIS);
            offeredSinceStart = true;
            return new Step(offer, changed, event);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            notBefore = now + interval.toMillis(); // the published key is not an ML-KEM-768 key: wait for a new one
            return new Step(null, changed, Event.FAILED);
        }
    }

    /** A message from the peer (already authenticated as coming from it). */
    public synchronized Step receive(ExchangeMessage m, long now, String ownKemKey, Decapsulator kem) {
        if (!m.receiver().equals(self) || !m.sender().equals(peer)) return Step.NOTHING;
        return switch (m.type()) {
            case OFFER -> initiator ? Step.NOTHING : offer(m, now, ownKemKey, kem);
            case ACK -> initiator ? ack(m, now) : Step.NOTHING;
            case NACK -> initiator ? nack(m, now) : Step.NOTHING;
        };
    }

    private Step offer(ExchangeMessage m, long now, String ownKemKey, Decapsulator kem) {
        if (ownKemKey == null || !MessageDigest.isEqual(m.kemKeyId(), ExchangeMessage.kemKeyId(ownKemKey))) {
            return new Step(ExchangeMessage.nack(self, peer, heldEpoch(), Reason.KEM_KEY), false, Event.FAILED);
        }
        byte[] offered = sha256(m.ciphertext());
        if (key != null && m.epoch() == epoch && MessageDigest.isEqual(offered, acceptedOffer)) {
            return new Step(ExchangeMessage.ack(self, peer, epoch, ExchangeMessage.confirmation(key, epoch)), false, Event.NONE); // a resend
        }
        byte[] previous;
        boolean redo = false;
        if (m.base() == 0 && (key == null || m.epoch() > epoch)) {
            previous = null; // a new chain (above the epoch we hold a key for, if any)
        } else if (m.base() != 0 && m.base() == epoch && key != null && m.epoch() == epoch + 1) {
            previous = key;
        } else if (m.base() != 0 && m.base() == previousEpoch && previousKey != null && m.epoch() == epoch) {
            previous = previousKey; // the initiator restarted before our ACK reached it: the epoch again
            redo = true;
        } else {
            return new Step(ExchangeMessage.nack(self, peer, heldEpoch(), Reason.EPOCH), false, Event.FAILED);
        }
        byte[] secret;
        try {
            secret = kem.decapsulate(m.ciphertext());
        } catch (GeneralSecurityException e) {
            return new Step(ExchangeMessage.nack(self, peer, heldEpoch(), Reason.KEM_KEY), false, Event.FAILED);
        }
        byte[] k = PresharedKeyChain.next(previous, secret, self, peer, m.epoch(), m.ciphertext());
        if (!redo) {
            previousEpoch = key == null ? 0 : epoch;
            previousKey = key;
        }
        epoch = m.epoch();
        key = k;
        acceptedOffer = offered;
        keyMadeAt = now;
        lastExchange = now;
        return new Step(ExchangeMessage.ack(self, peer, epoch, ExchangeMessage.confirmation(k, epoch)), true, Event.ROTATED);
    }

    private Step ack(ExchangeMessage m, long now) {
        Pending p = pending;
        if (p == null || m.epoch() != p.offer().epoch()) return Step.NOTHING; // a late ACK of an offer given up
        if (!MessageDigest.isEqual(m.confirmation(), ExchangeMessage.confirmation(p.key(), m.epoch()))) {
            // The responder holds another key for this epoch (it took an older offer of it last): a new chain above it, now.
            pending = null;
            reset = true;
            nackedEpoch = Math.max(nackedEpoch, m.epoch());
            notBefore = 0;
            offeredSinceStart = false;
            return new Step(null, false, Event.FAILED);
        }
        previousEpoch = key == null ? 0 : epoch;
        previousKey = key;
        epoch = m.epoch();
        key = p.key();
        kemKeyOfKey = p.kemKey();
        keyMadeAt = now;
        lastExchange = now;
        pending = null;
        reset = false;
        nackedEpoch = 0;
        return new Step(null, true, Event.ROTATED);
    }

    private Step nack(ExchangeMessage m, long now) {
        if (m.reason() == Reason.EPOCH) {
            // The epoch the responder holds a key for (0: none). Our pending offer fits it (the responder will take
            // it), or we hold the same key: nothing to do. Otherwise one side lost state: a new chain above it, now.
            if (pending != null) {
                ExchangeMessage o = pending.offer();
                if (o.base() == 0 ? m.epoch() == 0 || o.epoch() > m.epoch() : o.base() == m.epoch()) return Step.NOTHING;
            } else if (m.epoch() == epoch && key != null) {
                return Step.NOTHING;
            }
            boolean refused = pending != null; // else an announcement: nothing of ours failed
            pending = null;
            reset = true;
            nackedEpoch = Math.max(nackedEpoch, m.epoch());
            notBefore = 0;
            offeredSinceStart = false;
            return new Step(null, false, refused ? Event.FAILED : Event.NONE);
        }
        if (pending == null) return Step.NOTHING;
        pending = null;
        kemKeyOfKey = null; // KEM_KEY: offer again once the peer's new key is published; not more than once a second until then
        notBefore = now + FIRST_RESEND_MILLIS;
        return new Step(null, false, Event.FAILED);
    }

    /** What a NACK or an announcement tells the initiator: the epoch this side holds a key for, 0 for none. */
    private long heldEpoch() {
        return key == null ? 0 : epoch;
    }

    private void dropKey() {
        previousEpoch = 0;
        previousKey = null;
        key = null;
        acceptedOffer = null;
        pending = null;
        reset = true;
    }

    private static boolean handshakeStale(long now, long lastHandshakeEpochSeconds) {
        if (lastHandshakeEpochSeconds < 0) return false; // unknown
        return lastHandshakeEpochSeconds == 0 || now / 1000 - lastHandshakeEpochSeconds > FALLBACK_HANDSHAKE_AGE.toSeconds();
    }

    /**
     * How long without a completed exchange (and with a stale handshake) before a side drops its key:
     * 150 s, or an interval and 30 s when that is longer (a healthy idle pair completes one per interval).
     */
    static Duration fallbackAfter(Duration interval) {
        Duration d = interval.plusSeconds(30);
        return d.compareTo(FALLBACK_HANDSHAKE_AGE) > 0 ? d : FALLBACK_HANDSHAKE_AGE;
    }

    /** How long an offer is resent before it counts as failed and a fresh one is made: 10 s to 60 s. */
    static Duration giveUpAfter(Duration interval) {
        long s = Math.max(10, Math.min(60, interval.toSeconds()));
        return Duration.ofSeconds(s);
    }

    /** The stored state (what survives a restart): the bound WireGuard keys, the epochs and keys. */
    public synchronized Map<String, String> stored() {
        Map<String, String> s = new LinkedHashMap<>();
        Base64.Encoder b = Base64.getEncoder();
        if (ownPublicKey != null) s.put("ownPublicKey", ownPublicKey);
        if (peerPublicKey != null) s.put("peerPublicKey", peerPublicKey);
        s.put("epoch", Long.toString(epoch));
        if (key != null) s.put("key", b.encodeToString(key));
        s.put("previousEpoch", Long.toString(previousEpoch));
        if (previousKey != null) s.put("previousKey", b.encodeToString(previousKey));
        if (acceptedOffer != null) s.put("acceptedOffer", b.encodeToString(acceptedOffer));
        s.put("keyMadeAt", Long.toString(keyMadeAt));
        return s;
    }

    /**
     * A chain restored from {@link #stored()} ({@code startDelayMillis}: as in the constructor).
     *
     * @throws IllegalArgumentException when the stored state is malformed (the caller starts a new chain)
     */
    public static PairChain restore(String self, String peer, Map<String, String> s, long startDelayMillis) {
        PairChain c = new PairChain(self, peer, startDelayMillis);
        Base64.Decoder b = Base64.getDecoder();
        c.ownPublicKey = s.get("ownPublicKey");
        c.peerPublicKey = s.get("peerPublicKey");
        c.epoch = Long.parseLong(s.getOrDefault("epoch", "0"));
        c.key = s.containsKey("key") ? checked(b.decode(s.get("key"))) : null;
        c.previousEpoch = Long.parseLong(s.getOrDefault("previousEpoch", "0"));
        c.previousKey = s.containsKey("previousKey") ? checked(b.decode(s.get("previousKey"))) : null;
        c.acceptedOffer = s.containsKey("acceptedOffer") ? b.decode(s.get("acceptedOffer")) : null;
        c.keyMadeAt = Long.parseLong(s.getOrDefault("keyMadeAt", "0"));
        c.lastExchange = c.keyMadeAt;
        if (c.epoch < 0 || c.previousEpoch < 0) throw new IllegalArgumentException("negative epoch");
        return c;
    }

    private static byte[] checked(byte[] k) {
        if (k.length != PresharedKeyChain.KEY_BYTES) throw new IllegalArgumentException("a preshared key is 32 bytes, not " + k.length);
        return k;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized String toString() {
        return "PairChain[" + self + (initiator ? " -> " : " <- ") + peer + ", epoch " + epoch + (key == null ? ", no key" : "") + "]";
    }

    /** Whether both chains hold the same key. */
    static boolean sameKey(PairChain a, PairChain b) {
        return a.key != null && Arrays.equals(a.key, b.key);
    }
}
