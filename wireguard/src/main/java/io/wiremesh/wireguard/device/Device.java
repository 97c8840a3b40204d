package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.handover.DeviceState;
import io.wiremesh.wireguard.net.Bind;
import io.wiremesh.wireguard.noise.Identity;
import io.wiremesh.wireguard.routing.Prefix;
import io.wiremesh.wireguard.timers.Clock;
import io.wiremesh.wireguard.tun.Tun;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A WireGuard interface (wireguard-go's device.go): its configuration (private key, listen port,
 * fwmark, peers and their AllowedIPs, drop counters) and lifecycle. The packets never pass through
 * here: they flow in {@link Send} (TUN to UDP), {@link Receive} (UDP to TUN) and
 * {@link HandshakeWorker}, assembled in a {@link Datapath}; those and the {@link Peer}s reach the
 * TUN, the UDP bind and the shared state only through its {@link DeviceContext}.
 *
 * <p>Threads when started: {@code wg-tun-reader}, {@code wg-udp-reader}, {@code wg-handshake} and
 * {@code wg-timers}, plus the crypto workers of the two pipelines. Nothing on the data path
 * allocates or logs per packet.
 */
public final class Device implements AutoCloseable {
    /**
     * How the device runs.
     *
     * @param workers crypto workers per direction; 0 = run to completion on the reader threads
     * @param poolSize preallocated packet buffers per direction (bounded queues)
     * @param threads start the reader/handshake/timer threads (false: the caller drives the device, as tests do)
     */
    public record Options(int workers, int poolSize, boolean threads) {
        /** Run to completion (no crypto workers), 512 buffers per direction, threads started. */
        public static Options defaults() {
            return new Options(0, 512, true);
        }
    }

    private static final long TICK_NANOS = 20_000_000L;

    private final Tun tun;
    private final Bind.Factory bindFactory;
    private final Clock clock;
    private final Options options;
    /** Serializes configuration changes (key, bind, peer set). */
    private final Object config = new Object();
    private final Datapath datapath;
    private final Peers peers;

    private volatile Identity identity;
    private int listenPort;
    private int fwmark;
    private volatile Thread timers;
    private volatile boolean closed;
    private volatile boolean released;
    /** Held around each configuration request from outside, and by the handover from its pause to its end. */
    private final java.util.concurrent.locks.ReentrantLock owner = new java.util.concurrent.locks.ReentrantLock();

    /**
     * A device on {@code tun}; nothing runs and no socket is open until {@link #start}.
     *
     * @param bindFactory opens the UDP socket, at {@link #start} and on each listen-port change
     * @param clock protocol time (tests pass a fake one)
     */
    public Device(Tun tun, Bind.Factory bindFactory, Clock clock, Options options) {
        this.tun = tun;
        this.bindFactory = bindFactory;
        this.clock = clock;
        this.options = options;
        datapath = new Datapath(tun, clock, options);
        peers = datapath.peers;
    }

    /** Opens the UDP bind (random port unless configured) and starts the loops. */
    public void start() throws IOException {
        synchronized (config) {
            if (datapath.bind() == null) {
                Bind b = bindFactory.open(listenPort);
                datapath.bind(b);
                if (fwmark != 0) b.setMark(fwmark);
            }
        }
        if (!options.threads()) return;
        datapath.start();
        timers = Thread.ofPlatform().daemon().name("wg-timers").start(this::timerLoop);
    }

    // ------------------------------------------------------------------ configuration

    /** Our static key pair; null while no private key is set. */
    public Identity identity() {
        return identity;
    }

    /** Sets (or with null / all zeros, clears) the 32-byte private key, as wireguard-go's SetPrivateKey. */
    public void setPrivateKey(byte[] key) {
        synchronized (config) {
            Identity old = identity;
            if (key == null || Keys.isZero(key)) {
                if (old == null) return;
                identity = null;
            } else {
                if (old != null && Keys.equal(old.privateKey, key)) return;
                Identity id = new Identity(key);
                // A peer with our own public key would be ourselves: remove it.
                Peer self = peers.get(id.publicKey);
                if (self != null) removePeer(self);
                identity = id;
            }
            datapath.handshakes.setIdentity(identity);
            for (Peer p : peers.all()) {
                p.setIdentity(identity);
                p.expireCurrentKeypairs();
            }
            if (old != null) old.destroy();
        }
    }

    /** The UDP port bound (the configured one before {@link #start}; 0 = any). */
    public int listenPort() {
        Bind b = datapath.bind();
        return b != null ? b.port() : listenPort;
    }

    /**
     * Rebinds the UDP socket; throws when the port is taken, and then nothing changed (the old socket and
     * port stay, so the same request can be retried and a revert to the old port is a no-op).
     */
    public void setListenPort(int port) throws IOException {
        synchronized (config) {
            Bind old = datapath.bind();
            if (old == null) {
                listenPort = port;
                return;
            }
            if (port != 0 && port == old.port()) return;
            Bind fresh = bindFactory.open(port);
            try {
                if (fwmark != 0) fresh.setMark(fwmark);
            } catch (IOException | RuntimeException e) {
                fresh.close();
                throw e;
            }
            datapath.bind(fresh);
            listenPort = port;
            old.close(); // the UDP reader's receive on it returns nothing, and it moves to the new bind
            // Endpoints stay; new packets leave from the new port.
        }
    }

    /** The SO_MARK on outgoing packets; 0 = none. */
    public int fwmark() {
        return fwmark;
    }

    /** Marks outgoing packets (SO_MARK) for policy routing; 0 clears the mark. */
    public void setFwmark(int mark) throws IOException {
        synchronized (config) {
            Bind b = datapath.bind();
            if (b != null && mark != fwmark) b.setMark(mark);
            fwmark = mark;
        }
    }

    /** The peer with this 32-byte public key, or null. */
    public Peer peer(byte[] publicKey) {
        return peers.get(publicKey);
    }

    /** All peers, in the order they were added. */
    public List<Peer> peers() {
        return List.of(peers.all());
    }

    /** Creates a peer, or returns null for our own public key (wireguard-go ignores such a peer). */
    public Peer addPeer(byte[] publicKey) {
        synchronized (config) {
            Peer p = peers.get(publicKey);
            if (p != null) return p;
            Identity id = identity;
            if (id != null && Keys.equal(id.publicKey, publicKey)) return null;
            p = new Peer(datapath, id, publicKey);
            peers.add(p);
            return p;
        }
    }

    /** Removes the peer, its AllowedIPs and sessions, and erases its keys; a no-op for an unknown peer. */
    public void removePeer(Peer p) {
        synchronized (config) {
            if (peers.remove(p)) p.remove();
        }
    }

    /** Removes every peer (UAPI {@code replace_peers=true}). */
    public void removeAllPeers() {
        synchronized (config) {
            for (Peer p : peers.all()) removePeer(p);
        }
    }

    /** Sets the peer's 32-byte preshared key (whitepaper 5.2); all zeros = none. */
    public void setPresharedKey(Peer p, byte[] psk) {
        p.handshake.setPresharedKey(psk);
    }

    /** The peer's 32-byte preshared key (all zeros = none); a copy. */
    public byte[] presharedKey(Peer p) {
        return p.handshake.presharedKey();
    }

    /** Sends a keepalive every {@code seconds} of silence (whitepaper 6.5); 0 = off. */
    public void setPersistentKeepalive(Peer p, int seconds) {
        p.timers.setPersistentKeepalive(seconds);
    }

    /** Sends a keepalive now (starting a handshake when there is no session), as when persistent keepalive is turned on. */
    public void sendKeepalive(Peer p) {
        if (datapath.bind() != null) p.sendKeepalive();
    }

    /** Routes {@code prefix} to {@code p} (and accepts it as a source from {@code p}); whitepaper 2. */
    public void addAllowedIp(Peer p, Prefix prefix) {
        peers.allowedIps().insert(prefix, p);
    }

    /** Stops routing {@code prefix} to {@code p}; a no-op unless it routes there. */
    public void removeAllowedIp(Peer p, Prefix prefix) {
        peers.allowedIps().remove(prefix, p);
    }

    /** Removes every prefix routed to {@code p} (UAPI {@code replace_allowed_ips=true}). */
    public void clearAllowedIps(Peer p) {
        peers.allowedIps().removeValue(p);
    }

    /** The prefixes routed to {@code p}. */
    public List<Prefix> allowedIps(Peer p) {
        return peers.allowedIps().prefixesOf(p);
    }

    /** Forces (true/false) or releases (null) the under-load state that requires cookies; for diagnostics and tests. */
    public void setUnderLoad(Boolean override) {
        datapath.handshakes.setUnderLoad(override);
    }

    /** Whether handshake messages without a valid MAC2 now get a cookie reply (whitepaper 5.3; {@link LoadDetector}). */
    public boolean underLoad() {
        return datapath.handshakes.underLoad();
    }

    /** Packets dropped for {@code reason} since the device was created. */
    public long drops(Drop reason) {
        return datapath.drops.get(reason);
    }

    /** Packets dropped for any reason since the device was created. */
    public long totalDrops() {
        return datapath.drops.total();
    }

    /** A copy of every drop counter. */
    public Map<Drop, Long> dropCounts() {
        return datapath.drops.snapshot();
    }

    /** The current UDP bind; null before {@link #start} (or {@link #adopt}). */
    public Bind bind() {
        return datapath.bind();
    }

    /** The interface this device reads and writes. */
    public Tun tun() {
        return tun;
    }

    // ------------------------------------------------------------------ lifecycle

    /** Runs expired timers of every peer; the timer loop calls it every few milliseconds. */
    public void tick() {
        long now = clock.nanos();
        for (Peer p : peers.all()) p.tick(now);
    }

    /** Blocks until the TUN device fails or disappears. */
    public void awaitTunGone() throws InterruptedException {
        datapath.send.awaitTunGone();
    }

    private void timerLoop() {
        long lastRefresh = 0;
        while (!closed) {
            try {
                datapath.gate.pass();
                tick();
                // The MTU may be changed from outside (the node-daemon sets it): padding must follow it.
                if (System.nanoTime() - lastRefresh > 1_000_000_000L) {
                    tun.refresh();
                    lastRefresh = System.nanoTime();
                }
            } catch (RuntimeException ex) {
                // a timer action failing for one peer must not stop the others' timers
            } catch (InterruptedException closing) {
                return;
            }
            LockSupport.parkNanos(TICK_NANOS);
        }
    }

    // ------------------------------------------------------------------ handover

    /** Threads that park at the gate: the TUN reader, the UDP reader, the handshake worker and the timers. */
    private static final int GATED_THREADS = 4;

    /**
     * Holds every thread of the device at a safe point (nothing is read, sealed, sent or timed any
     * more; what was read is handled and sent first) so its state can be handed to a successor.
     *
     * @return false when the threads did not all stop within {@code timeoutNanos}; the device then runs on
     */
    public boolean pause(long timeoutNanos) throws InterruptedException {
        if (!options.threads()) throw new IllegalStateException("a device without threads has nothing to pause");
        long deadline = System.nanoTime() + timeoutNanos;
        // No configuration request from outside from here to the end of the handover (it waits, or is refused once released).
        if (!owner.tryLock(timeoutNanos, java.util.concurrent.TimeUnit.NANOSECONDS)) return false;
        boolean parked = false;
        try {
            datapath.gate.close();
            parked = datapath.gate.awaitParked(GATED_THREADS, Math.max(1, deadline - System.nanoTime()));
            // Crypto workers (if any) finish what the readers handed them.
            while (parked && !(datapath.send.pipeline().idle() && datapath.receive.pipeline().idle())) {
                if (System.nanoTime() > deadline) parked = false;
                else Thread.sleep(1);
            }
        } finally {
            if (!parked) {
                datapath.gate.open();
                owner.unlock();
            }
        }
        return parked;
    }

    /** Lets a {@link #pause paused} device run on (its successor did not take over); by the thread that paused it. */
    public void resume() {
        datapath.gate.open();
        if (owner.isHeldByCurrentThread()) owner.unlock();
    }

    /**
     * Waits while a handover is under way, then holds off the next one until {@link #endConfiguration}: around each
     * configuration request from outside (a UAPI set). False once the device was handed over (nothing is held).
     */
    public boolean holdForConfiguration() {
        owner.lock();
        if (!released) return true;
        owner.unlock();
        return false;
    }

    /** Ends a {@link #holdForConfiguration} hold. */
    public void endConfiguration() {
        owner.unlock();
    }

    /**
     * The state a successor needs ({@link DeviceState}), of a {@link #pause paused} device; the offload
     * flags are left false for the caller, who knows its TUN and bind, to fill in.
     */
    public DeviceState snapshot() {
        synchronized (config) {
            long now = clock.nanos();
            Identity id = identity;
            java.util.List<DeviceState.PeerState> ps = new java.util.ArrayList<>();
            for (Peer p : peers.all()) ps.add(p.snapshot(allowedIps(p), now));
            return new DeviceState(id == null ? null : id.privateKey.clone(), listenPort(), fwmark, false, false, false, ps);
        }
    }

    /** Uses {@code bind}, a predecessor's socket, instead of opening one at {@link #start}. */
    public void adopt(Bind bind) {
        synchronized (config) {
            if (datapath.bind() != null) throw new IllegalStateException("the device has a bind already");
            datapath.bind(bind);
            listenPort = bind.port();
        }
    }

    /**
     * Takes over a predecessor's configuration and live sessions, before {@link #start}: the private
     * key, the fwmark, each peer with its preshared key, endpoint, keepalive and AllowedIPs, and its
     * sessions, counters, replay windows and timers, so that traffic goes on without a new handshake.
     */
    public void restore(DeviceState state) throws IOException {
        setPrivateKey(state.privateKey());
        setFwmark(state.fwmark());
        long now = clock.nanos();
        for (DeviceState.PeerState s : state.peers()) {
            Peer p = addPeer(s.publicKey());
            if (p == null) continue; // our own key
            setPresharedKey(p, s.presharedKey());
            if (s.endpoint() != null) p.restoreEndpoint(io.wiremesh.wireguard.net.Endpoint.of(s.endpoint(), s.endpointSource()));
            p.timers.setPersistentKeepalive(s.persistentKeepalive());
            for (Prefix a : s.allowedIps()) addAllowedIp(p, a);
            p.restore(s, now);
        }
    }

    /**
     * After a successor took over: stops every thread and erases the keys like {@link #close}, but
     * leaves the interface and the socket to the successor (only this process's descriptors are closed).
     */
    public void release() {
        released = true;
        try {
            stop(true);
        } finally {
            if (owner.isHeldByCurrentThread()) owner.unlock(); // a waiting request is then refused (released)
        }
    }

    /** Stops every thread, removes the peers (erasing their keys), closes the bind and the TUN, erases our key. */
    @Override
    public void close() {
        if (released) return; // the interface and the socket are a successor's
        stop(false);
    }

    private void stop(boolean release) {
        closed = true;
        // First, so the readers take the closing TUN and bind below for a shutdown, not a failure.
        datapath.close();
        removeAllPeers();
        Bind b;
        synchronized (config) {
            b = datapath.bind(); // not while setListenPort swaps it
        }
        if (b != null && release) b.release();
        else if (b != null) b.close();
        if (release) tun.release();
        else tun.close();
        Thread t = timers;
        if (t != null) t.interrupt();
        Identity id = identity;
        if (id != null) id.destroy();
    }

    /** The data path; tests without threads inject packets through its {@link Send} and {@link Receive}. */
    Datapath datapath() {
        return datapath;
    }
}
