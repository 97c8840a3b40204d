package io.wiremesh.wireguard.device;

import static io.wiremesh.wireguard.Protocol.*;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import io.wiremesh.wireguard.handover.DeviceState;
import io.wiremesh.wireguard.noise.CookieGenerator;
import io.wiremesh.wireguard.noise.Handshake;
import io.wiremesh.wireguard.noise.Identity;
import io.wiremesh.wireguard.noise.Tai64n;
import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.session.Keypairs;
import io.wiremesh.wireguard.timers.Timers;
import io.wiremesh.wireguard.net.Endpoint;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A remote WireGuard peer: its handshake, sessions, timers, endpoint and staged packets
 * (wireguard-go's peer.go). It reaches the TUN, the bind and the shared tables only through its
 * device's {@link DeviceContext}; {@link Device} configures it.
 */
public final class Peer {
    static final int MAX_STAGED = 128;

    private final DeviceContext device;
    final byte[] publicKey;
    final Handshake handshake;
    final CookieGenerator cookies;
    final Keypairs keypairs;
    final Timers timers;
    private final ArrayBlockingQueue<Element> staged = new ArrayBlockingQueue<>(MAX_STAGED);
    /** Held while a send counter is assigned and the element queued, so per-peer order equals counter order. */
    private final Object sendLock = new Object();

    private volatile Endpoint endpoint;
    final AtomicLong txBytes = new AtomicLong();
    final AtomicLong rxBytes = new AtomicLong();
    private volatile long lastHandshakeEpochNanos;
    private long lastSentHandshake = Long.MIN_VALUE;
    private int pendingHandshakeIndex;
    private volatile boolean removed;

    Peer(DeviceContext device, Identity identity, byte[] publicKey) {
        this.device = device;
        this.publicKey = publicKey.clone();
        this.handshake = new Handshake(identity, publicKey);
        this.cookies = new CookieGenerator(publicKey);
        this.keypairs = new Keypairs(device::retire);
        this.timers = new Timers(new SplittableRandom());
    }

    /** The peer's 32-byte static public key; a copy. */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** Where the peer is and which of our addresses it last sent to; null until configured or heard from. */
    public Endpoint endpoint() {
        return endpoint;
    }

    /** A configured endpoint (UAPI {@code endpoint=}): no source address, the kernel's routing picks one. */
    public void setEndpoint(InetSocketAddress address) {
        endpoint = address == null ? null : Endpoint.of(address);
    }

    /**
     * Roaming (whitepaper 2.1): follow the source of the latest authenticated packet, and the local
     * address it was sent to (replies leave from there).
     */
    void updateEndpoint(Endpoint src) {
        if (src != null && src != endpoint && !src.equals(endpoint)) endpoint = src;
    }

    /** Our source address for this peer stopped working (it left the host): let routing choose again. */
    void forgetSource(Endpoint used) {
        // Compare-and-set: a roam to a new endpoint in the meantime must not be undone.
        if (used != null && used.source() != null) ENDPOINT.compareAndSet(this, used, used.withoutSource());
    }

    private static final java.lang.invoke.VarHandle ENDPOINT;

    static {
        try {
            ENDPOINT = java.lang.invoke.MethodHandles.lookup().findVarHandle(Peer.class, "endpoint", Endpoint.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Bytes of transport datagrams sealed for the peer and handed to the socket (headers and tags included, handshakes not). */
    public long txBytes() {
        return txBytes.get();
    }

    /** Bytes of authenticated transport datagrams received from the peer (headers and tags included). */
    public long rxBytes() {
        return rxBytes.get();
    }

    /** Wall-clock time of the last completed handshake in nanoseconds since the epoch; 0 if none. */
    public long lastHandshakeEpochNanos() {
        return lastHandshakeEpochNanos;
    }

    /** The persistent keepalive interval in seconds; 0 = off. */
    public int persistentKeepalive() {
        return timers.persistentKeepalive();
    }

    /** The session packets are sent with now; null before the first handshake or after key erasure. */
    public Keypair currentKeypair() {
        return keypairs.current();
    }

    // --- sending data ---

    /** Sends a plaintext element (length 0 = keepalive): staged until a session exists. */
    void send(Element e) {
        if (stage(e)) flushStaged();
    }

    /**
     * Queues a plaintext element for the next {@link #flushStaged} (the oldest staged one is dropped
     * when {@link #MAX_STAGED} wait); false when the peer was removed (the element is freed).
     */
    boolean stage(Element e) {
        if (removed) {
            device.release(e);
            return false;
        }
        if (!staged.offer(e)) {
            Element old = staged.poll();
            if (old != null) {
                device.count(Drop.STAGED_OVERFLOW);
                device.release(old);
            }
            if (!staged.offer(e)) {
                device.count(Drop.STAGED_OVERFLOW);
                device.release(e);
            }
        }
        // Removed meanwhile: nothing will flush or drop this queue again, so empty it now.
        if (removed) dropStaged();
        return true;
    }

    /**
     * Encrypts and sends staged packets while a usable session exists (one run through the outbound
     * pipeline, flushed at the end); otherwise starts a handshake.
     */
    void flushStaged() {
        boolean needHandshake = false;
        long now = device.clock().nanos();
        try {
            synchronized (sendLock) {
                while (!staged.isEmpty()) {
                    Keypair kp = keypairs.current();
                    Endpoint ep = endpoint;
                    long n = kp == null ? -1 : kp.nextNonce(now);
                    if (n < 0 || ep == null) {
                        needHandshake = true;
                        break;
                    }
                    Element e = staged.poll();
                    if (e == null) break; // dropped meanwhile (handshake given up, peer removed)
                    e.peer = this;
                    e.keypair = kp;
                    e.counter = n;
                    e.endpoint = ep;
                    device.outbound().submit(e);
                    // Keep the key fresh (whitepaper 6.2): the initiator rekeys after REKEY_AFTER_MESSAGES or REKEY_AFTER_TIME.
                    if (kp.initiator && (Long.compareUnsigned(n, REKEY_AFTER_MESSAGES) > 0 || now - kp.createdNanos > REKEY_AFTER_TIME)) {
                        needHandshake = true;
                    }
                }
            }
        } finally {
            device.outbound().flush(); // what was submitted must leave even if this run failed midway
        }
        if (needHandshake) sendInitiation(false);
    }

    void sendKeepalive() {
        if (!staged.isEmpty()) {
            flushStaged();
            return;
        }
        Element e = device.pollOutbound();
        if (e == null) return;
        e.length = 0;
        send(e);
    }

    void dropStaged() {
        Element e;
        while ((e = staged.poll()) != null) device.release(e);
    }

    // --- handshake ---

    /** Sends a handshake initiation, at most once per REKEY_TIMEOUT. */
    void sendInitiation(boolean retry) {
        long now = device.clock().nanos();
        synchronized (this) {
            if (!retry) timers.resetAttempts();
            if (lastSentHandshake != Long.MIN_VALUE && now - lastSentHandshake < REKEY_TIMEOUT) return;
            lastSentHandshake = now;
        }
        Endpoint ep = endpoint;
        if (ep == null || removed) return;
        int index = device.indices().add(this);
        byte[] ephemeral = X25519.generatePrivateKey();
        byte[] msg = handshake.createInitiation(index, ephemeral, Tai64n.now(device.clock().wall()));
        Keys.zero(ephemeral);
        if (msg == null) {
            device.indices().remove(index, this);
            return;
        }
        replacePendingIndex(index);
        cookies.addMacs(msg, now);
        timers.anyAuthenticatedPacketTraversal(now);
        timers.anyAuthenticatedPacketSent();
        device.sendHandshake(msg, ep, this);
        timers.handshakeInitiated(now);
    }

    private synchronized void replacePendingIndex(int index) {
        if (pendingHandshakeIndex != 0) device.indices().remove(pendingHandshakeIndex, this);
        pendingHandshakeIndex = index;
    }

    /** Responder: an initiation from this peer was accepted; answer it and derive the new session. */
    void sendResponse(long now) {
        Endpoint ep = endpoint;
        int index = device.indices().add(this);
        byte[] ephemeral = X25519.generatePrivateKey();
        byte[] msg = handshake.createResponse(index, ephemeral);
        Keys.zero(ephemeral);
        Handshake.SessionKeys keys = msg == null ? null : handshake.deriveKeys();
        if (keys == null) {
            device.indices().remove(index, this);
            return;
        }
        cookies.addMacs(msg, now);
        beginSession(keys, now);
        timers.anyAuthenticatedPacketTraversal(now);
        timers.anyAuthenticatedPacketSent();
        device.sendHandshake(msg, ep, this);
    }

    /** Initiator: our initiation was answered; the session is ready to send. */
    void consumedResponse(long now) {
        Handshake.SessionKeys keys = handshake.deriveKeys();
        if (keys == null) return;
        synchronized (this) {
            pendingHandshakeIndex = 0;
        }
        beginSession(keys, now);
        handshakeComplete();
        sendKeepalive();
        flushStaged();
    }

    private void beginSession(Handshake.SessionKeys keys, long now) {
        Keypair kp = new Keypair(keys.sendKey(), keys.receiveKey(), keys.initiator(), keys.localIndex(),
                keys.remoteIndex(), now, this);
        device.indices().replace(keys.localIndex(), kp);
        keypairs.install(kp);
        timers.sessionDerived(now);
    }

    void handshakeComplete() {
        timers.handshakeComplete();
        java.time.Instant w = device.clock().wall();
        lastHandshakeEpochNanos = w.getEpochSecond() * 1_000_000_000L + w.getNano();
    }

    /** The local key changed: sessions made with the old one may not send any more. */
    void expireCurrentKeypairs() {
        clearHandshake();
        synchronized (this) {
            lastSentHandshake = Long.MIN_VALUE;
        }
        Keypair c = keypairs.current();
        if (c != null) c.expireSending();
        Keypair n = keypairs.next();
        if (n != null) n.expireSending();
    }

    void setIdentity(Identity identity) {
        handshake.setIdentity(identity);
        clearPendingIndex();
    }

    private void clearHandshake() {
        handshake.clear();
        clearPendingIndex();
    }

    private synchronized void clearPendingIndex() {
        if (pendingHandshakeIndex != 0) device.indices().remove(pendingHandshakeIndex, this);
        pendingHandshakeIndex = 0;
    }

    /** Erase all key material (ZERO_KEY_MATERIAL timer, or removal). */
    void zeroKeys() {
        keypairs.clear();
        clearHandshake();
    }

    // --- timers ---

    /** Runs the actions of every expired timer (called by the device's timer loop). */
    void tick(long now) {
        if (timers.nextDeadline() > now) return;
        EnumSet<Timers.Action> actions = timers.expire(now);
        for (Timers.Action a : actions) {
            switch (a) {
                case SEND_INITIATION_RETRY -> sendInitiation(true);
                case GIVE_UP_HANDSHAKE -> dropStaged();
                case SEND_KEEPALIVE -> sendKeepalive();
                case SEND_INITIATION -> sendInitiation(false);
                case ZERO_KEYS -> zeroKeys();
            }
        }
    }

    // --- handover ---

    /** This peer's state for a successor; the device is paused ({@link Gate}), so nothing moves meanwhile. */
    DeviceState.PeerState snapshot(java.util.List<io.wiremesh.wireguard.routing.Prefix> allowedIps, long now) {
        java.util.List<DeviceState.KeypairState> sessions = new java.util.ArrayList<>();
        addSession(sessions, DeviceState.Slot.PREVIOUS, keypairs.previous(), now);
        addSession(sessions, DeviceState.Slot.CURRENT, keypairs.current(), now);
        addSession(sessions, DeviceState.Slot.NEXT, keypairs.next(), now);
        Endpoint ep = endpoint;
        return new DeviceState.PeerState(publicKey.clone(), handshake.presharedKey(), ep == null ? null : ep.address(),
                ep == null ? null : ep.source(), timers.persistentKeepalive(), allowedIps, rxBytes.get(), txBytes.get(),
                lastHandshakeEpochNanos, handshake.latestTimestamp(), timers.remaining(now), timers.handshakeAttempts(),
                timers.needAnotherKeepalive(), timers.sentLastMinuteHandshake(), sessions);
    }

    private static void addSession(java.util.List<DeviceState.KeypairState> to, DeviceState.Slot slot, Keypair kp, long now) {
        if (kp == null) return;
        try {
            to.add(new DeviceState.KeypairState(slot, kp.initiator, kp.localIndex, kp.remoteIndex, now - kp.createdNanos,
                    kp.peekNonce(), kp.sendKey.getEncoded(), kp.receiveKey.getEncoded(), kp.replay.edge(), kp.replay.blocks()));
        } catch (IllegalStateException erased) {
            // erased meanwhile: nothing to carry on
        }
    }

    /**
     * Carries on a predecessor's sessions, counters and timers ({@link #snapshot}); a session whose
     * receiver index is already taken here is left out (the peer then handshakes again).
     */
    void restore(DeviceState.PeerState s, long now) {
        rxBytes.set(s.rxBytes());
        txBytes.set(s.txBytes());
        lastHandshakeEpochNanos = s.lastHandshakeEpochNanos();
        handshake.restoreLatestTimestamp(s.latestTimestamp());
        Keypair[] slots = new Keypair[DeviceState.Slot.values().length];
        for (DeviceState.KeypairState k : s.keypairs()) {
            Keypair kp = new Keypair(k.sendKey(), k.receiveKey(), k.initiator(), k.localIndex(), k.remoteIndex(), now - k.ageNanos(), this);
            if (!device.indices().put(k.localIndex(), kp)) {
                kp.destroy();
                continue;
            }
            kp.continueFrom(k.sendNonce());
            kp.replay.restore(k.replayNext(), k.replayRing());
            slots[k.slot().ordinal()] = kp;
        }
        keypairs.restore(slots[0], slots[1], slots[2]);
        timers.restore(s.timers(), now, s.handshakeAttempts(), s.needAnotherKeepalive(), s.sentLastMinuteHandshake());
    }

    /** Where the peer is and which of our addresses it last sent to, as a predecessor knew it. */
    void restoreEndpoint(Endpoint e) {
        endpoint = e;
    }

    void remove() {
        removed = true;
        timers.stopAll();
        zeroKeys();
        dropStaged();
    }
}
