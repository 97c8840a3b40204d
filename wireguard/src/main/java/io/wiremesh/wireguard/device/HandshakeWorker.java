package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.net.Endpoint;
import io.wiremesh.wireguard.noise.CookieChecker;
import io.wiremesh.wireguard.noise.Handshake;
import io.wiremesh.wireguard.noise.Identity;
import io.wiremesh.wireguard.noise.Messages;
import io.wiremesh.wireguard.session.Keypair;
import java.net.InetSocketAddress;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Handshake messages (wireguard-go's RoutineHandshake, whitepaper 5.3-5.4), off the UDP reader's
 * thread: a bounded queue and one thread ({@code wg-handshake}) that checks MAC1, answers with a
 * cookie reply instead of a Diffie-Hellman computation when under load (and rate-limits per source),
 * then runs the Noise step: consume an initiation and respond, consume a response, or consume a
 * cookie reply. Each failure is counted under its {@link Drop}.
 */
final class HandshakeWorker {
    /** Handshake messages waiting at most; more are dropped ({@link Drop#QUEUE_FULL}). */
    static final int QUEUE = 1024;

    private record Work(byte[] msg, Endpoint source) {}

    /** Our static key and the cookie checker made from it, swapped together. */
    private record Local(Identity identity, CookieChecker checker) {}

    private final DeviceContext device;
    private final Peers peers;
    private final boolean inline;
    private final ArrayBlockingQueue<Work> queue = new ArrayBlockingQueue<>(QUEUE);
    private final LoadDetector load = new LoadDetector(QUEUE);
    private final RateLimiter rateLimiter = new RateLimiter();
    private volatile Local local;
    private volatile Boolean underLoadOverride;
    private volatile boolean closed;
    private volatile Thread thread;

    /** @param inline handle each message on the submitting thread (for a device without threads, as in tests) */
    HandshakeWorker(DeviceContext device, Peers peers, boolean inline) {
        this.device = device;
        this.peers = peers;
        this.inline = inline;
    }

    /** Our private key changed (null: cleared, every handshake message is then dropped as {@link Drop#BAD_MAC1}). */
    void setIdentity(Identity identity) {
        local = identity == null ? null : new Local(identity, new CookieChecker(identity));
    }

    /** Starts the handshake thread. */
    void start() {
        thread = Thread.ofPlatform().daemon().name("wg-handshake").start(this::loop);
    }

    /** Queues a handshake message of its exact size received from {@code source}; takes ownership of {@code msg}. */
    void submit(byte[] msg, Endpoint source) {
        if (inline) {
            handle(msg, source, underLoad());
        } else if (!queue.offer(new Work(msg, source))) {
            device.count(Drop.QUEUE_FULL);
        }
    }

    /** Forces (true/false) or releases (null) the under-load state; for diagnostics and tests. */
    void setUnderLoad(Boolean override) {
        underLoadOverride = override;
    }

    /** Whether handshake messages without a valid MAC2 now get a cookie reply (whitepaper 5.3; {@link LoadDetector}). */
    boolean underLoad() {
        Boolean o = underLoadOverride;
        if (o != null) return o;
        return load.underLoad(queue.size(), device.clock().nanos());
    }

    private void loop() {
        while (!closed) {
            try {
                device.gate().pass();
                // A bounded wait, so a held gate is noticed while no handshake arrives.
                Work w = queue.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (w != null) handle(w.msg(), w.source(), underLoad());
            } catch (InterruptedException ie) {
                return;
            } catch (RuntimeException ex) {
                device.count(Drop.BAD_HANDSHAKE);
            }
        }
    }

    /** One message: cookie replies go to their peer; initiations and responses pass the MAC checks first. */
    private void handle(byte[] msg, Endpoint source, boolean underLoad) {
        long now = device.clock().nanos();
        int type = msg[0];
        if (type == Protocol.MESSAGE_COOKIE_REPLY) {
            cookieReply(msg, now);
            return;
        }
        Local l = local;
        if (l == null) {
            device.count(Drop.BAD_MAC1); // no private key: nothing can be addressed to us
            return;
        }
        if (!admit(l.checker(), msg, source, underLoad, now)) return;
        if (type == Protocol.MESSAGE_INITIATION) {
            initiation(l.identity(), msg, source, now);
        } else {
            response(msg, source, now);
        }
    }

    private void cookieReply(byte[] msg, long now) {
        Object entry = device.indices().get(Messages.getInt(msg, Messages.COOKIE_RECEIVER));
        Peer p = entry instanceof Peer peer ? peer : entry instanceof Keypair kp ? (Peer) kp.owner : null;
        if (p == null || !p.cookies.consumeReply(msg, now)) device.count(Drop.BAD_HANDSHAKE);
    }

    /**
     * MAC1 must be valid (whitepaper 5.4.4); under load MAC2 must be too, or the sender gets a cookie
     * reply, and each source is rate-limited. False when the message was dropped.
     */
    private boolean admit(CookieChecker checker, byte[] msg, Endpoint source, boolean underLoad, long now) {
        if (!checker.checkMac1(msg)) {
            device.count(Drop.BAD_MAC1);
            return false;
        }
        if (!underLoad) return true;
        byte[] src = sourceBytes(source.address());
        if (!checker.checkMac2(msg, src, now)) {
            device.count(Drop.COOKIE_REQUIRED);
            device.sendHandshake(checker.createReply(msg, Messages.getInt(msg, 4), src, now), source, null);
            return false;
        }
        if (!rateLimiter.allow(source.address().getAddress(), now)) {
            device.count(Drop.RATE_LIMITED);
            return false;
        }
        return true;
    }

    /** Responder (whitepaper 5.4.2-5.4.3): accept a fresh initiation from a known peer and answer it. */
    private void initiation(Identity id, byte[] msg, Endpoint source, long now) {
        Handshake.Initiation in = Handshake.openInitiation(id, msg);
        if (in == null) {
            device.count(Drop.BAD_HANDSHAKE);
            return;
        }
        Peer p = peers.get(in.remoteStatic());
        if (p == null) {
            device.count(Drop.UNKNOWN_PEER);
            return;
        }
        switch (p.handshake.consumeInitiation(in, now)) {
            case ACCEPTED -> {
                authenticated(p, source, now);
                p.sendResponse(now);
            }
            case REPLAYED_TIMESTAMP -> device.count(Drop.REPLAYED_TIMESTAMP);
            case FLOOD -> device.count(Drop.INITIATION_FLOOD);
            case BAD_MAC -> device.count(Drop.BAD_HANDSHAKE);
        }
    }

    /** Initiator (whitepaper 5.4.3): a response to our pending initiation completes the session. */
    private void response(byte[] msg, Endpoint source, long now) {
        Object entry = device.indices().get(Messages.getInt(msg, Messages.RESP_RECEIVER));
        if (!(entry instanceof Peer p) || !p.handshake.consumeResponse(msg)) {
            device.count(Drop.BAD_HANDSHAKE);
            return;
        }
        authenticated(p, source, now);
        p.consumedResponse(now);
    }

    /** An authenticated handshake message: roam to its source (whitepaper 2.1) and run the timers. */
    private static void authenticated(Peer p, Endpoint source, long now) {
        p.updateEndpoint(source);
        p.timers.anyAuthenticatedPacketTraversal(now);
        p.timers.anyAuthenticatedPacketReceived();
    }

    /** The address bytes a cookie is bound to: IP then port (only we interpret them). */
    private static byte[] sourceBytes(InetSocketAddress s) {
        byte[] ip = s.getAddress().getAddress();
        byte[] out = new byte[ip.length + 2];
        System.arraycopy(ip, 0, out, 0, ip.length);
        out[ip.length] = (byte) s.getPort();
        out[ip.length + 1] = (byte) (s.getPort() >>> 8);
        return out;
    }

    /** Stops the handshake thread; queued messages are abandoned. */
    void close() {
        closed = true;
        Thread t = thread;
        if (t != null) t.interrupt();
    }
}
