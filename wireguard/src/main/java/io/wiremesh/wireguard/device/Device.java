package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.net.Bind;
import io.wiremesh.wireguard.noise.CookieChecker;
import io.wiremesh.wireguard.noise.Handshake;
import io.wiremesh.wireguard.noise.Identity;
import io.wiremesh.wireguard.noise.Messages;
import io.wiremesh.wireguard.routing.AllowedIps;
import io.wiremesh.wireguard.routing.Prefix;
import io.wiremesh.wireguard.session.IndexTable;
import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.timers.Clock;
import io.wiremesh.wireguard.tun.Tun;
import java.io.IOException;
import io.wiremesh.wireguard.net.Endpoint;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * A WireGuard interface (wireguard-go's device.go): owns the TUN, the UDP bind, the peers, the
 * cryptokey routing table and the receiver-index table, and runs the packet loops.
 *
 * <p>Threads when started: a TUN reader (outbound), a UDP reader (inbound), a handshake worker, a
 * timer loop, plus the crypto workers of the two pipelines. Nothing on the data path allocates
 * or logs per packet.
 */
public final class Device implements AutoCloseable {
    /**
     * @param workers crypto workers per direction; 0 = run to completion on the reader threads
     * @param poolSize preallocated packet buffers per direction (bounded queues)
     * @param threads start the reader/handshake/timer threads (false: the caller drives the device, as tests do)
     */
    public record Options(int workers, int poolSize, boolean threads) {
        public static Options defaults() {
            return new Options(0, 512, true);
        }
    }

    static final int HANDSHAKE_QUEUE = 1024;
    private static final long TICK_NANOS = 20_000_000L;

    private final Tun tun;
    private final Bind.Factory bindFactory;
    private final Clock clock;
    private final Options options;
    private final Object config = new Object();

    private volatile Identity identity;
    private volatile CookieChecker cookieChecker;
    private volatile Bind bind;
    private int listenPort;
    private int fwmark;
    private final LinkedHashMap<String, Peer> peers = new LinkedHashMap<>();
    private volatile Peer[] peerList = new Peer[0];

    private final AllowedIps<Peer> allowedIps = new AllowedIps<>();
    private final IndexTable<Object> indices = new IndexTable<>();
    private final ElementPool outPool;
    private final ElementPool inPool;
    private final Pipeline outbound;
    private final Pipeline inbound;
    private final ArrayBlockingQueue<HandshakeWork> handshakes = new ArrayBlockingQueue<>(HANDSHAKE_QUEUE);
    private final LoadDetector load = new LoadDetector(HANDSHAKE_QUEUE);
    private final RateLimiter rateLimiter = new RateLimiter();
    private final EnumMap<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
    private volatile Boolean underLoadOverride;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;
    private final java.util.concurrent.CountDownLatch tunGone = new java.util.concurrent.CountDownLatch(1);

    private record HandshakeWork(byte[] msg, Endpoint source) {}

    public Device(Tun tun, Bind.Factory bindFactory, Clock clock, Options options) {
        this.tun = tun;
        this.bindFactory = bindFactory;
        this.clock = clock;
        this.options = options;
        for (Drop d : Drop.values()) drops.put(d, new LongAdder());
        outPool = new ElementPool(options.poolSize());
        inPool = new ElementPool(options.poolSize());
        outbound = new Pipeline("wg-tx", new Send(this), options.workers(), options.poolSize(), outPool::release);
        inbound = new Pipeline("wg-rx", new Receive(this), options.workers(), options.poolSize(), inPool::release);
    }

    /** Opens the UDP bind (random port unless configured) and starts the loops. */
    public void start() throws IOException {
        synchronized (config) {
            if (bind == null) {
                bind = bindFactory.open(listenPort);
                if (fwmark != 0) bind.setMark(fwmark);
            }
        }
        if (!options.threads()) return;
        threads.add(Thread.ofPlatform().daemon().name("wg-tun-reader").start(this::tunLoop));
        threads.add(Thread.ofPlatform().daemon().name("wg-udp-reader").start(this::udpLoop));
        threads.add(Thread.ofPlatform().daemon().name("wg-handshake").start(this::handshakeLoop));
        threads.add(Thread.ofPlatform().daemon().name("wg-timers").start(this::timerLoop));
    }

    // ------------------------------------------------------------------ configuration

    public Identity identity() {
        return identity;
    }

    /** Sets (or with null / all zeros, clears) the private key, as wireguard-go's SetPrivateKey. */
    public void setPrivateKey(byte[] key) {
        synchronized (config) {
            Identity old = identity;
            if (key == null || Keys.isZero(key)) {
                if (old == null) return;
                identity = null;
                cookieChecker = null;
            } else {
                if (old != null && Keys.equal(old.privateKey, key)) return;
                Identity id = new Identity(key);
                // A peer with our own public key would be ourselves: remove it.
                Peer self = peers.get(Keys.toHex(id.publicKey));
                if (self != null) removePeer(self);
                identity = id;
                cookieChecker = new CookieChecker(id);
            }
            for (Peer p : peerList) {
                p.setIdentity(identity);
                p.expireCurrentKeypairs();
            }
            if (old != null) old.destroy();
        }
    }

    public int listenPort() {
        Bind b = bind;
        return b != null ? b.port() : listenPort;
    }

    /**
     * Rebinds the UDP socket; throws when the port is taken, and then nothing changed (the old socket and
     * port stay, so the same request can be retried and a revert to the old port is a no-op).
     */
    public void setListenPort(int port) throws IOException {
        synchronized (config) {
            if (bind == null) {
                listenPort = port;
                return;
            }
            if (port != 0 && port == bind.port()) return;
            Bind fresh = bindFactory.open(port);
            try {
                if (fwmark != 0) fresh.setMark(fwmark);
            } catch (IOException | RuntimeException e) {
                fresh.close();
                throw e;
            }
            Bind old = bind;
            bind = fresh;
            listenPort = port;
            old.close();
            // Endpoints stay; new packets leave from the new port.
        }
    }

    public int fwmark() {
        return fwmark;
    }

    public void setFwmark(int mark) throws IOException {
        synchronized (config) {
            if (bind != null && mark != fwmark) bind.setMark(mark);
            fwmark = mark;
        }
    }

    public Peer peer(byte[] publicKey) {
        synchronized (config) {
            return peers.get(Keys.toHex(publicKey));
        }
    }

    public List<Peer> peers() {
        return List.of(peerList);
    }

    /** Creates a peer, or returns null for our own public key (wireguard-go ignores such a peer). */
    public Peer addPeer(byte[] publicKey) {
        synchronized (config) {
            String k = Keys.toHex(publicKey);
            Peer p = peers.get(k);
            if (p != null) return p;
            Identity id = identity;
            if (id != null && Keys.equal(id.publicKey, publicKey)) return null;
            p = new Peer(this, id, publicKey);
            peers.put(k, p);
            peerList = peers.values().toArray(new Peer[0]);
            return p;
        }
    }

    public void removePeer(Peer p) {
        synchronized (config) {
            if (peers.remove(Keys.toHex(p.publicKey)) == null) return;
            peerList = peers.values().toArray(new Peer[0]);
            allowedIps.removeValue(p);
            p.remove();
        }
    }

    public void removeAllPeers() {
        synchronized (config) {
            for (Peer p : peerList) removePeer(p);
        }
    }

    public void setPresharedKey(Peer p, byte[] psk) {
        p.handshake.setPresharedKey(psk);
    }

    public byte[] presharedKey(Peer p) {
        return p.handshake.presharedKey();
    }

    public void setPersistentKeepalive(Peer p, int seconds) {
        p.timers.setPersistentKeepalive(seconds);
    }

    /** Sends a keepalive now (starting a handshake when there is no session), as when persistent keepalive is turned on. */
    public void sendKeepalive(Peer p) {
        if (bind != null) p.sendKeepalive();
    }

    public void addAllowedIp(Peer p, Prefix prefix) {
        allowedIps.insert(prefix, p);
    }

    public void removeAllowedIp(Peer p, Prefix prefix) {
        allowedIps.remove(prefix, p);
    }

    public void clearAllowedIps(Peer p) {
        allowedIps.removeValue(p);
    }

    public List<Prefix> allowedIps(Peer p) {
        return allowedIps.prefixesOf(p);
    }

    /** Forces (true/false) or releases (null) the under-load state that requires cookies; for diagnostics and tests. */
    public void setUnderLoad(Boolean override) {
        underLoadOverride = override;
    }

    public long drops(Drop reason) {
        return drops.get(reason).sum();
    }

    public long totalDrops() {
        long n = 0;
        for (LongAdder a : drops.values()) n += a.sum();
        return n;
    }

    public Map<Drop, Long> dropCounts() {
        Map<Drop, Long> m = new EnumMap<>(Drop.class);
        drops.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    public Tun tun() {
        return tun;
    }

    // ------------------------------------------------------------------ internals shared with peers and stages

    Clock clock() {
        return clock;
    }

    IndexTable<Object> indices() {
        return indices;
    }

    AllowedIps<Peer> allowedIpTable() {
        return allowedIps;
    }

    Pipeline outbound() {
        return outbound;
    }

    void count(Drop reason) {
        drops.get(reason).increment();
    }

    void release(Element e) {
        e.pool.release(e);
    }

    Element pollElement() {
        return outPool.poll();
    }

    Element pollInbound() {
        return inPool.poll();
    }

    void retire(Keypair kp) {
        indices.remove(kp.localIndex, kp);
        kp.destroy();
    }

    /** Sends a handshake message to {@code to}; {@code peer} (null for cookie replies) forgets a source that stopped working. */
    void sendHandshake(byte[] msg, Endpoint to, Peer peer) {
        Bind b = bind;
        if (b == null || to == null) return;
        try {
            if (!b.send(ByteBuffer.wrap(msg), to) && peer != null) peer.forgetSource(to);
        } catch (IOException | RuntimeException e) {
            count(Drop.SEND_FAILED);
        }
    }

    /** Sends a sealed datagram ({@code buf}, position to limit) to {@code peer} at {@code to}. */
    void sendDatagram(ByteBuffer buf, Endpoint to, Peer peer) {
        Bind b = bind;
        try {
            if (b == null) throw new IOException("no bind");
            if (!b.send(buf, to) && peer != null) peer.forgetSource(to);
        } catch (IOException | RuntimeException e) {
            count(Drop.SEND_FAILED);
        }
    }

    void writeTun(ByteBuffer buf) {
        try {
            tun.write(buf);
        } catch (IOException | RuntimeException e) {
            count(Drop.TUN_WRITE_FAILED);
        }
    }

    // ------------------------------------------------------------------ outbound: TUN -> peer

    /** Routes a plaintext IP packet (at {@link Element#HEADER}, {@code e.length} bytes) to its peer by destination. */
    void handleTunPacket(Element e) {
        ByteBuffer b = e.net;
        Peer p = null;
        if (e.length >= 20 && (b.get(Element.HEADER) >> 4 & 0xf) == 4) {
            p = allowedIps.lookupV4(b.getInt(Element.HEADER + 16));
        } else if (e.length >= 40 && (b.get(Element.HEADER) >> 4 & 0xf) == 6) {
            p = allowedIps.lookupV6(b.getLong(Element.HEADER + 24), b.getLong(Element.HEADER + 32));
        }
        if (p == null) {
            count(Drop.NO_ROUTE);
            outPool.release(e);
            return;
        }
        if (p.endpoint() == null) {
            count(Drop.NO_ENDPOINT);
            outPool.release(e);
            return;
        }
        p.send(e);
    }

    // ------------------------------------------------------------------ inbound: UDP -> peer

    /** Dispatches a datagram of {@code e.length} bytes at offset 0 received from {@code source}. */
    void handleDatagram(Element e, Endpoint source) {
        e.state = Element.PENDING;
        int n = e.length;
        if (n < 4) {
            drop(e, Drop.TOO_SHORT);
            return;
        }
        int type = e.buf.getInt(0); // the three reserved bytes must be zero, so compare the whole word
        switch (type) {
            case Protocol.MESSAGE_TRANSPORT -> handleTransport(e, source);
            case Protocol.MESSAGE_INITIATION, Protocol.MESSAGE_RESPONSE, Protocol.MESSAGE_COOKIE_REPLY -> {
                int expected = type == Protocol.MESSAGE_INITIATION ? Protocol.INITIATION_SIZE
                        : type == Protocol.MESSAGE_RESPONSE ? Protocol.RESPONSE_SIZE : Protocol.COOKIE_REPLY_SIZE;
                if (n != expected) {
                    drop(e, Drop.BAD_SIZE);
                    return;
                }
                byte[] msg = new byte[n];
                e.buf.get(0, msg);
                inPool.release(e);
                if (!options.threads()) {
                    handleHandshake(msg, source, underLoad());
                } else if (!handshakes.offer(new HandshakeWork(msg, source))) {
                    count(Drop.QUEUE_FULL);
                }
            }
            default -> drop(e, Drop.BAD_TYPE);
        }
    }

    private void drop(Element e, Drop reason) {
        count(reason);
        inPool.release(e);
    }

    private void handleTransport(Element e, Endpoint source) {
        if (e.length < Protocol.TRANSPORT_MIN_SIZE) {
            drop(e, Drop.TOO_SHORT);
            return;
        }
        Object entry = indices.get(e.buf.getInt(Messages.DATA_RECEIVER));
        if (!(entry instanceof Keypair kp)) {
            drop(e, Drop.UNKNOWN_INDEX);
            return;
        }
        if (kp.destroyed() || kp.expired(clock.nanos())) {
            drop(e, Drop.EXPIRED_SESSION);
            return;
        }
        e.keypair = kp;
        e.peer = (Peer) kp.owner;
        e.counter = e.buf.getLong(Messages.DATA_COUNTER);
        e.endpoint = source;
        inbound.submit(e);
    }

    /** Whether handshake messages without a valid MAC2 now get a cookie reply (whitepaper 5.3; {@link LoadDetector}). */
    public boolean underLoad() {
        Boolean o = underLoadOverride;
        if (o != null) return o;
        return load.underLoad(handshakes.size(), clock.nanos());
    }

    /** Handshake messages (whitepaper 5.4): MAC checks, cookies under load, then the Noise steps. */
    void handleHandshake(byte[] msg, Endpoint source, boolean underLoad) {
        long now = clock.nanos();
        int type = msg[0];
        if (type == Protocol.MESSAGE_COOKIE_REPLY) {
            Object entry = indices.get(Messages.getInt(msg, Messages.COOKIE_RECEIVER));
            Peer p = entry instanceof Peer peer ? peer : entry instanceof Keypair kp ? (Peer) kp.owner : null;
            if (p == null || !p.cookies.consumeReply(msg, now)) count(Drop.BAD_HANDSHAKE);
            return;
        }
        CookieChecker checker = cookieChecker;
        Identity id = identity;
        if (checker == null || id == null) {
            count(Drop.BAD_MAC1);
            return;
        }
        if (!checker.checkMac1(msg)) {
            count(Drop.BAD_MAC1);
            return;
        }
        if (underLoad) {
            byte[] src = sourceBytes(source.address());
            if (!checker.checkMac2(msg, src, now)) {
                count(Drop.COOKIE_REQUIRED);
                sendHandshake(checker.createReply(msg, Messages.getInt(msg, 4), src, now), source, null);
                return;
            }
            if (!rateLimiter.allow(source.address().getAddress(), now)) {
                count(Drop.RATE_LIMITED);
                return;
            }
        }
        if (type == Protocol.MESSAGE_INITIATION) {
            Handshake.Initiation in = Handshake.openInitiation(id, msg);
            if (in == null) {
                count(Drop.BAD_HANDSHAKE);
                return;
            }
            Peer p = peer(in.remoteStatic());
            if (p == null) {
                count(Drop.UNKNOWN_PEER);
                return;
            }
            switch (p.handshake.consumeInitiation(in, now)) {
                case ACCEPTED -> {
                    p.updateEndpoint(source);
                    p.timers.anyAuthenticatedPacketTraversal(now);
                    p.timers.anyAuthenticatedPacketReceived();
                    p.sendResponse(now);
                }
                case REPLAYED_TIMESTAMP -> count(Drop.REPLAYED_TIMESTAMP);
                case FLOOD -> count(Drop.INITIATION_FLOOD);
                case BAD_MAC -> count(Drop.BAD_HANDSHAKE);
            }
        } else {
            Object entry = indices.get(Messages.getInt(msg, Messages.RESP_RECEIVER));
            if (!(entry instanceof Peer p) || !p.handshake.consumeResponse(msg)) {
                count(Drop.BAD_HANDSHAKE);
                return;
            }
            p.updateEndpoint(source);
            p.timers.anyAuthenticatedPacketTraversal(now);
            p.timers.anyAuthenticatedPacketReceived();
            p.consumedResponse(now);
        }
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

    // ------------------------------------------------------------------ timers

    /** Runs expired timers of every peer; the timer loop calls it every few milliseconds. */
    public void tick() {
        long now = clock.nanos();
        for (Peer p : peerList) p.tick(now);
    }

    // ------------------------------------------------------------------ loops

    private void tunLoop() {
        while (!closed) {
            Element e;
            try {
                e = outPool.take();
            } catch (InterruptedException ie) {
                return;
            }
            try {
                e.buf.limit(Element.CAPACITY - 32).position(Element.HEADER);
                int n = tun.read(e.buf);
                if (n < 0) {
                    outPool.release(e);
                    tunGone.countDown();
                    return;
                }
                e.length = n;
                handleTunPacket(e);
            } catch (IOException ex) {
                // The interface is gone (ip link del) or broken: stop, like wireguard-go does.
                outPool.release(e);
                if (!closed) System.err.println("wiremesh-wg: TUN failed, stopping: " + ex.getMessage());
                tunGone.countDown();
                return;
            } catch (RuntimeException ex) {
                outPool.release(e);
            }
        }
    }

    /** Blocks until the TUN device fails or disappears. */
    public void awaitTunGone() throws InterruptedException {
        tunGone.await();
    }

    private void udpLoop() {
        while (!closed) {
            Element e;
            try {
                e = inPool.take();
            } catch (InterruptedException ie) {
                return;
            }
            try {
                Bind b = bind;
                e.buf.limit(Element.CAPACITY).position(0);
                Endpoint src = b.receive(e.buf);
                if (src == null) {
                    inPool.release(e);
                    if (closed) return;
                    continue; // the bind was replaced (listen port change)
                }
                e.length = e.buf.position();
                handleDatagram(e, src);
            } catch (IOException | RuntimeException ex) {
                inPool.release(e);
            }
        }
    }

    private void handshakeLoop() {
        while (!closed) {
            try {
                HandshakeWork w = handshakes.take();
                handleHandshake(w.msg(), w.source(), underLoad());
            } catch (InterruptedException ie) {
                return;
            } catch (RuntimeException ex) {
                count(Drop.BAD_HANDSHAKE);
            }
        }
    }

    private void timerLoop() {
        long lastRefresh = 0;
        while (!closed) {
            try {
                tick();
                // The MTU may be changed from outside (the node-daemon sets it): padding must follow it.
                if (System.nanoTime() - lastRefresh > 1_000_000_000L) {
                    tun.refresh();
                    lastRefresh = System.nanoTime();
                }
            } catch (RuntimeException ex) {
                // a timer action failing for one peer must not stop the others' timers
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TICK_NANOS);
        }
    }

    @Override
    public void close() {
        closed = true;
        removeAllPeers();
        Bind b;
        synchronized (config) {
            b = bind; // not while setListenPort swaps it
        }
        if (b != null) b.close();
        tun.close();
        for (Thread t : threads) t.interrupt();
        outbound.close();
        inbound.close();
        Identity id = identity;
        if (id != null) id.destroy();
    }
}
