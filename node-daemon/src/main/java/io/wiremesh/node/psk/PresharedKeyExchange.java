package io.wiremesh.node.psk;

import io.wiremesh.node.StateFiles;
import io.wiremesh.node.keys.KemKey;
import io.wiremesh.node.keys.NodeKey;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The node's side of the post-quantum preshared-key exchange with every other node of its mesh: the
 * I/O around one {@link PairChain} per peer node. One thread owns a UDP socket on this node's overlay
 * address, the port after the node's WireGuard port ({@link ExchangeMessage#port}; the exchange runs inside the WireGuard tunnels),
 * receives and answers messages, and ticks every chain about once a second. Each chain's state is
 * stored in {@code dir/<node>.chain} (mode 0600, the directory 0700) before its key is acknowledged,
 * so a restart resumes the chain. Installing writes the one peer's key ({@link Installer}); the
 * caller's peer syncs read {@link #presharedKey} for every node peer as well.
 */
public final class PresharedKeyExchange implements AutoCloseable {
    /** A peer node as the mesh publishes it ({@code listenPort}: its WireGuard port, from which its exchange port follows). */
    public record Peer(String node, String publicKey, String kemPublicKey, List<String> overlayAddresses, int listenPort) {}

    /**
     * Puts the pair's current key ({@link #presharedKey}) on the interface's peer for {@code publicKey};
     * true when it is there (or the peer is not on the interface yet: the peer sync that adds it reads
     * the key), false when the interface refused (retried every second; no ACK is sent meanwhile).
     */
    public interface Installer {
        boolean install(String peerNode, String publicKey);
    }

    /**
     * What the status shows: how many peer nodes share a key with this one, how many do not or hold
     * one older than two intervals, when the oldest current key was made, and exchanges completed.
     */
    public record Summary(int peers, int stale, Instant oldestKey, long rotations) {}

    /** The first steps of all chains (at start, or when the exchange is turned on) are spread over this much. */
    static final Duration START_SPREAD = Duration.ofSeconds(5);
    /** A Kubernetes node name (RFC 1123 subdomain): also the chain's file name, so nothing else is taken. */
    private static final String NODE_NAME = "^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$";
    private final String node;
    private volatile NodeKey key;
    private final KemKey kem;
    private final Path dir;
    private final Installer installer;
    private final LongSupplier clock;
    private final Map<String, PairChain> chains = new ConcurrentHashMap<>();
    private final Map<String, Peer> peers = new ConcurrentHashMap<>();
    /** node -> (own and peer public key, mac key): the X25519 agreement is made once per pair of keys. */
    private final Map<String, Map.Entry<String, byte[]>> macKeys = new ConcurrentHashMap<>();
    private volatile Map<String, Long> handshakes = Map.of();
    private volatile long handshakesAt;
    private volatile boolean enabled = true;
    private volatile Duration interval = io.wiremesh.api.v1alpha1.WireGuardMeshSpec.PresharedKeys.DEFAULT_INTERVAL;
    private volatile List<String> localAddresses = List.of();
    private volatile int listenPort = io.wiremesh.api.v1alpha1.WireGuardMeshSpec.DEFAULT_LISTEN_PORT;
    private final AtomicLong rotations = new AtomicLong(), failures = new AtomicLong(), fallbacks = new AtomicLong();
    /** Peer nodes whose current key the interface refused: installed again each second, and before any ACK to them. */
    private final java.util.Set<String> installPending = ConcurrentHashMap.newKeySet();
    /** Peer nodes whose chain file could not be written: written again each second, and before any ACK to them. */
    private final java.util.Set<String> unstored = ConcurrentHashMap.newKeySet();
    private Thread thread;
    private volatile DatagramSocket socket;

    /**
     * @param dir       where the chains are stored (created when missing)
     * @param installer puts a pair's new key on the interface; called from the exchange's thread
     * @param clock     wall-clock milliseconds
     */
    public PresharedKeyExchange(String node, NodeKey key, KemKey kem, Path dir, Installer installer, LongSupplier clock) {
        this.node = node;
        this.key = key;
        this.kem = kem;
        this.dir = dir;
        this.installer = installer;
        this.clock = clock;
    }

    /**
     * This node's WireGuard key after a rotation: messages are authenticated with it from now on, and every
     * chain starts over at the next {@link #peers} (the other side does the same when it sees the new key).
     */
    public void nodeKey(NodeKey next) {
        key = next;
        macKeys.clear();
    }

    /** The mesh's spec.presharedKeys: on or off, and the interval. Off: no exchange, no key on any node peer. */
    public void settings(boolean enabled, Duration interval) {
        this.enabled = enabled;
        this.interval = interval;
    }

    /**
     * This node's WireGuard port is about to become {@code port}: the exchange gives up its own port at once
     * (the next WireGuard port may be it) and listens on the one after the new port from its next round.
     */
    public void listenPort(int port) {
        if (port == listenPort) return;
        listenPort = port;
        closeSocket();
    }

    /** This node's overlay addresses: the exchange listens on the first IPv4 one (else the first). */
    public void localAddresses(List<String> overlayAddresses) {
        this.localAddresses = overlayAddresses == null ? List.of() : List.copyOf(overlayAddresses);
    }

    /**
     * The other nodes of the mesh as now published. A chain is made (or read back from its file) for
     * each; a chain made with another WireGuard key of either node starts over without a key. When the
     * view is complete, the chains of nodes that left are deleted with their files.
     */
    public void peers(Collection<Peer> view, boolean complete) {
        Map<String, Peer> now = new HashMap<>();
        for (Peer p : view) if (!p.node().equals(node) && p.node().matches(NODE_NAME)) now.put(p.node(), p);
        for (Peer p : now.values()) {
            peers.put(p.node(), p);
            PairChain c = chains.computeIfAbsent(p.node(), this::load);
            // Stored by the exchange's thread within a second, not here: a rotation rebinds every chain at once.
            if (c.bind(key.publicKeyBase64(), p.publicKey())) unstored.add(p.node());
        }
        if (!complete) return;
        for (String gone : List.copyOf(chains.keySet())) {
            if (now.containsKey(gone)) continue;
            chains.remove(gone);
            peers.remove(gone);
            installPending.remove(gone);
            unstored.remove(gone);
            macKeys.remove(gone);
            try {
                Files.deleteIfExists(file(gone));
            } catch (IOException e) {
                System.err.println("wiremesh node-daemon: cannot delete " + file(gone) + ": " + e.getMessage());
            }
        }
    }

    /**
     * The preshared key (base64) to install for {@code peerNode} holding {@code publicKey}, or null:
     * none yet, the exchange is off, or the chain belongs to another key of that node.
     */
    public String presharedKey(String peerNode, String publicKey) {
        if (!enabled) return null;
        PairChain c = chains.get(peerNode);
        Peer p = peers.get(peerNode);
        if (c == null || p == null || !p.publicKey().equals(publicKey)) return null;
        return c.presharedKey();
    }

    /** The peers' latest handshakes (public key -> epoch seconds, 0 for none), as the interface reported them just now. */
    public void handshakes(Map<String, Long> byPublicKey) {
        handshakes = Map.copyOf(byPublicKey);
        handshakesAt = clock.getAsLong();
    }

    /** Starts the exchange's thread. */
    public void start() {
        thread = Thread.ofPlatform().daemon().name("psk-exchange").start(this::run);
    }

    private void run() {
        byte[] buf = new byte[ExchangeMessage.MAX_BYTES];
        DatagramPacket packet = new DatagramPacket(buf, buf.length);
        long lastTick = 0;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                DatagramSocket s = bound();
                if (s == null) {
                    Thread.sleep(1000);
                } else {
                    try {
                        packet.setLength(buf.length);
                        s.receive(packet);
                        if (enabled) receive(packet);
                    } catch (SocketTimeoutException e) {
                        // tick below
                    }
                }
                long now = clock.getAsLong();
                if (now - lastTick >= 1000 || now < lastTick) {
                    lastTick = now;
                    if (enabled && socket != null) tick(now); // nothing can be sent before the socket is bound
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (Thread.currentThread().isInterrupted()) return;
                // A socket closed on purpose (a new listen port) needs no report: it is bound anew below.
                if (!(e instanceof SocketException && socket == null)) System.err.println("wiremesh node-daemon: preshared-key exchange: " + e);
                closeSocket();
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException again) {
                    return;
                }
            }
        }
    }

    /** The socket on the current local overlay address, (re)bound when needed; null while the address cannot be bound. */
    private DatagramSocket bound() {
        InetAddress want = pick(localAddresses, null);
        int port = ExchangeMessage.port(listenPort);
        DatagramSocket s = socket;
        if (s != null && want != null && want.equals(s.getLocalAddress()) && s.getLocalPort() == port) return s;
        closeSocket();
        if (want == null) return null;
        try {
            s = new DatagramSocket(null); // no SO_REUSEADDR: a second daemon on the address must fail, not share the datagrams
            s.bind(new InetSocketAddress(want, port));
            s.setSoTimeout(250);
            socket = s;
            return s;
        } catch (SocketException e) {
            if (s != null) s.close();
            return null; // the address is not on the interface yet: the next round tries again
        }
    }

    private void closeSocket() {
        DatagramSocket s = socket;
        socket = null;
        if (s != null) s.close();
    }

    /** The first address of the family wanted (null: IPv4 first, else any). */
    static InetAddress pick(List<String> addresses, Boolean v6) {
        InetAddress any = null;
        for (String a : addresses) {
            boolean isV6 = a.indexOf(':') >= 0;
            try {
                InetAddress x = InetAddress.ofLiteral(a);
                if (v6 == null ? !isV6 : v6 == isV6) return x;
                if (any == null && v6 == null) any = x;
            } catch (IllegalArgumentException e) {
                // not an address: skipped
            }
        }
        return any;
    }

    private void receive(DatagramPacket packet) throws IOException {
        ExchangeMessage m;
        try {
            m = ExchangeMessage.decode(packet.getData(), packet.getLength(), (sender, receiver) -> node.equals(receiver) ? macKey(sender) : null);
        } catch (ExchangeMessage.Rejected e) {
            return; // not from a peer node (no per-packet logging: anyone may send to the port)
        }
        PairChain c = chains.get(m.sender());
        if (c == null) return;
        PairChain.Step step = c.receive(m, clock.getAsLong(), kem.publicKeyBase64(), kem::decapsulate);
        handle(c, step);
    }

    private void tick(long now) {
        for (String p : List.copyOf(unstored)) {
            PairChain c = chains.get(p);
            if (c == null || store(c)) unstored.remove(p);
        }
        for (String p : List.copyOf(installPending)) install(p);
        Map<String, Long> hs = now - handshakesAt > 30_000 ? Map.of() : handshakes;
        for (PairChain c : chains.values()) {
            Peer p = peers.get(c.peer());
            if (p == null) continue;
            PairChain.Step step = c.tick(now, interval, p.kemPublicKey(), hs.getOrDefault(p.publicKey(), -1L), KemKey::encapsulate);
            try {
                handle(c, step);
            } catch (IOException e) {
                System.err.println("wiremesh node-daemon: preshared-key exchange with " + c.peer() + ": " + e.getMessage());
            }
        }
    }

    /** Stores and installs a changed key, then sends what the step says: an ACK only once its key is installed. */
    private void handle(PairChain c, PairChain.Step step) throws IOException {
        switch (step.event()) {
            case ROTATED -> rotations.incrementAndGet();
            case FAILED -> failures.incrementAndGet();
            case FELL_BACK -> {
                fallbacks.incrementAndGet();
                System.err.println("wiremesh node-daemon: no handshake with " + c.peer() + " for " + PairChain.FALLBACK_HANDSHAKE_AGE.toSeconds()
                        + " s and no exchange: its preshared key is dropped and a new chain started");
            }
            case NONE -> {}
        }
        if (step.keyChanged()) {
            unstored.add(c.peer());
            installPending.add(c.peer());
        }
        if (unstored.contains(c.peer()) && store(c)) unstored.remove(c.peer());
        if (installPending.contains(c.peer())) install(c.peer());
        ExchangeMessage m = step.send();
        if (m == null) return;
        // A key is acknowledged only once it is on disk and on the interface: the initiator resends meanwhile.
        if (m.type() == ExchangeMessage.Type.ACK && (unstored.contains(c.peer()) || installPending.contains(c.peer()))) return;
        send(c.peer(), m);
    }

    private void install(String peerNode) {
        Peer p = peers.get(peerNode);
        if (p == null || installer.install(peerNode, p.publicKey())) installPending.remove(peerNode);
    }

    private void send(String peerNode, ExchangeMessage m) throws IOException {
        DatagramSocket s = socket;
        Peer p = peers.get(peerNode);
        byte[] macKey = macKey(peerNode);
        if (s == null || p == null || macKey == null || p.overlayAddresses() == null) return;
        InetAddress to = pick(p.overlayAddresses(), s.getLocalAddress() instanceof java.net.Inet6Address);
        if (to == null) return;
        byte[] d = m.encode(macKey);
        s.send(new DatagramPacket(d, d.length, to, ExchangeMessage.port(p.listenPort())));
    }

    /** The mac key shared with {@code peerNode}, or null when it is not a peer (or publishes a key no agreement works with). */
    private byte[] macKey(String peerNode) {
        Peer p = peers.get(peerNode);
        NodeKey own = key;
        if (p == null || p.publicKey() == null) return null;
        String keys = own.publicKeyBase64() + "/" + p.publicKey(); // both keys: a rotation on either side makes a new one
        Map.Entry<String, byte[]> e = macKeys.get(peerNode);
        if (e != null && e.getKey().equals(keys)) return e.getValue();
        byte[] dh = own.agreement(p.publicKey());
        if (dh == null) return null;
        byte[] mac = ExchangeMessage.macKey(dh, node, peerNode);
        macKeys.put(peerNode, Map.entry(keys, mac));
        return mac;
    }

    private Path file(String peerNode) {
        return dir.resolve(peerNode + ".chain");
    }

    private PairChain load(String peerNode) {
        Path f = file(peerNode);
        if (Files.exists(f)) {
            try {
                Map<String, String> s = new LinkedHashMap<>();
                for (String line : Files.readAllLines(f, StandardCharsets.US_ASCII)) {
                    int eq = line.indexOf('=');
                    if (eq > 0) s.put(line.substring(0, eq), line.substring(eq + 1));
                }
                return PairChain.restore(node, peerNode, s, startDelay());
            } catch (IOException | RuntimeException e) {
                System.err.println("wiremesh node-daemon: " + f + " unreadable (" + e.getMessage() + "): a new chain with " + peerNode);
            }
        }
        return new PairChain(node, peerNode, startDelay());
    }

    /** A random delay before a chain's first step, within {@link #START_SPREAD} (at most half an interval). */
    private long startDelay() {
        long spread = Math.min(START_SPREAD.toMillis(), interval.toMillis() / 2);
        return java.util.concurrent.ThreadLocalRandom.current().nextLong(spread + 1);
    }

    /**
     * Writes the chain's file; under the chain's lock, so two threads never write one file at once, and
     * not for a chain whose node has left (its file is gone for good). False when the write failed.
     */
    private boolean store(PairChain c) {
        synchronized (c) {
            if (chains.get(c.peer()) != c) return true;
            StringBuilder sb = new StringBuilder();
            c.stored().forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                StateFiles.writeAtomically(file(c.peer()), sb.toString().getBytes(StandardCharsets.US_ASCII));
                return true;
            } catch (IOException e) {
                System.err.println("wiremesh node-daemon: cannot store the chain with " + c.peer() + ": " + e);
                return false;
            }
        }
    }

    /** For the status: counts and times only, never a key; null while the exchange is off. */
    public Summary summary() {
        if (!enabled) return null;
        long now = clock.getAsLong();
        int have = 0, stale = 0;
        long oldest = Long.MAX_VALUE;
        for (Peer p : peers.values()) {
            PairChain c = chains.get(p.node());
            long made = c == null ? 0 : c.keyMadeAt();
            if (made == 0) {
                stale++;
                continue;
            }
            have++;
            if (now - made > 2 * interval.toMillis()) stale++;
            oldest = Math.min(oldest, made);
        }
        return new Summary(have, stale, oldest == Long.MAX_VALUE ? null : Instant.ofEpochMilli(oldest), rotations.get());
    }

    /** Exchanges completed (a new key on both sides), since start. */
    public long rotations() {
        return rotations.get();
    }

    /** Offers given up, refused (NACK) or impossible (no usable published key), since start. */
    public long failures() {
        return failures.get();
    }

    /** Keys dropped because they no longer matched the peer's (see {@link PairChain}), since start. */
    public long fallbacks() {
        return fallbacks.get();
    }

    @Override
    public void close() {
        if (thread != null) thread.interrupt();
        closeSocket();
    }
}
