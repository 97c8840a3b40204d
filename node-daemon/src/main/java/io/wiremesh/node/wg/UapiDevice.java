package io.wiremesh.node.wg;

import static io.wiremesh.wireguard.uapi.UapiKeys.*;

import io.wiremesh.wireguard.crypto.Keys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A userspace WireGuard interface driven over its UAPI socket (/var/run/wireguard/IFNAME.sock):
 * wiremesh-wg, or wireguard-go, whichever runs. The datapath is its own process, so restarting the
 * daemon never stops traffic. Speaks the keys of {@link io.wiremesh.wireguard.uapi.UapiKeys}, the
 * definition the Java datapath's server uses too. Every request is bounded, connect to the reply's last
 * byte, by {@link #TIMEOUT}: a datapath that accepts and never answers throws {@link DatapathUnresponsive}
 * instead of holding the node agent (tailscale#8059).
 */
public final class UapiDevice implements WireGuardDevice {
    /** The longest one UAPI request may take; a healthy datapath answers in milliseconds, even with thousands of peers. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** After a request that ran out, how long the following ones fail at once before one probes again. */
    static final Duration HOLD = Duration.ofSeconds(10);
    private final Path socket;
    private final Duration timeout;
    /** The last request's verdict when it ran out (null: it was answered), and when. */
    private volatile DatapathUnresponsive hung;
    private volatile long hungAt;
    /** {@link #socketIdentity()} when it ran out: a restarted datapath (a new socket) is asked at once. */
    private volatile Object hungSocket;
    /** {@link #socketIdentity()} of the socket last seen configured. */
    private volatile Object configuredSocket;

    public UapiDevice(Path socket) {
        this(socket, TIMEOUT);
    }

    /** @param timeout the bound of one request (tests) */
    UapiDevice(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    @Override
    public String kind() {
        return "userspace";
    }

    /**
     * One request and its reply (without the errno line), within {@link #timeout}. After a request that ran out, the
     * ones that follow within {@link #HOLD} fail at once with the same verdict (one request a while probes whether it
     * answers again): a pass, the preshared-key installer and the metrics then do not each wait out the bound.
     */
    private String exchange(String request) throws IOException {
        String first = request.lines().findFirst().orElse("");
        DatapathUnresponsive held = hung;
        if (held != null && System.nanoTime() - hungAt < HOLD.toNanos() && java.util.Objects.equals(hungSocket, socketIdentity())) {
            throw new DatapathUnresponsive(held.getMessage());
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel c = connect(deadline); Selector selector = Selector.open()) {
            SelectionKey key = c.register(selector, 0);
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                if (c.write(out) == 0) await(selector, key, SelectionKey.OP_WRITE, deadline, first);
            }
            ByteArrayOutputStream in = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            int last = -1, beforeLast = -1; // the reply ends with an empty line: checked on its last two bytes only
            while (!(last == '\n' && beforeLast == '\n')) {
                b.clear();
                int n = c.read(b);
                if (n < 0) break;
                if (n == 0) {
                    await(selector, key, SelectionKey.OP_READ, deadline, first);
                    continue;
                }
                in.write(b.array(), 0, n);
                beforeLast = n > 1 ? b.get(n - 2) : last;
                last = b.get(n - 1);
            }
            hung = null;
            String reply = in.toString(StandardCharsets.UTF_8);
            int at = reply.lastIndexOf(ERRNO + "=");
            if (at < 0) throw new IOException("UAPI " + socket + ": no reply to " + first);
            int errno = Integer.parseInt(reply.substring(at + ERRNO.length() + 1).trim());
            if (errno != 0) throw new IOException("UAPI " + socket + " refused the request (errno " + errno + ")");
            return reply.substring(0, at);
        } catch (DatapathUnresponsive e) {
            hungSocket = socketIdentity();
            hungAt = System.nanoTime();
            hung = e;
            throw e;
        }
    }

    /**
     * A non-blocking connection. Refused (nobody listens) or no socket file: the datapath is down, an ordinary
     * IOException. Any other refusal (EAGAIN: a backlog full because nobody accepts) is tried again until the deadline,
     * then the datapath is unresponsive.
     */
    private SocketChannel connect(long deadline) throws IOException {
        while (true) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.configureBlocking(false);
                if (!c.connect(UnixDomainSocketAddress.of(socket))) {
                    try (Selector selector = Selector.open()) {
                        SelectionKey key = c.register(selector, 0);
                        await(selector, key, SelectionKey.OP_CONNECT, deadline, "connect");
                    }
                    c.finishConnect();
                }
                return c;
            } catch (DatapathUnresponsive | java.net.ConnectException | java.nio.channels.ClosedByInterruptException e) {
                c.close();
                throw e;
            } catch (IOException e) {
                c.close();
                if (!java.nio.file.Files.exists(socket)) throw e;
                if (System.nanoTime() - deadline >= 0) {
                    throw new DatapathUnresponsive("the datapath at " + socket + " does not accept UAPI connections within " + timeout.toSeconds()
                            + " s (" + e.getMessage() + "): it hangs (its liveness probe restarts it)");
                }
                try {
                    Thread.sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new java.nio.channels.ClosedByInterruptException();
                }
            }
        }
    }

    /** Waits for {@code op} on {@code key} until {@code deadline}; past it, the datapath is unresponsive. */
    private void await(Selector selector, SelectionKey key, int op, long deadline, String request) throws IOException {
        key.interestOps(op);
        while (true) {
            // An interrupted thread's select returns at once: without this the loop would spin to the deadline, then blame the datapath.
            if (Thread.currentThread().isInterrupted()) throw new java.nio.channels.ClosedByInterruptException();
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new DatapathUnresponsive("the datapath at " + socket + " did not answer the UAPI request '" + request + "' within "
                        + timeout.toSeconds() + " s: it hangs (its liveness probe restarts it)");
            }
            if (selector.select(left) > 0) break; // 0: woken early, or the time is up (the loop tells which)
        }
        selector.selectedKeys().clear();
        key.interestOps(0);
    }

    private static void line(StringBuilder sb, String key, Object value) {
        sb.append(key).append('=').append(value).append('\n');
    }

    private static String hex(String base64Key) {
        return Keys.toHex(Keys.fromBase64(base64Key));
    }

    @Override
    public void configure(byte[] privateKey, int listenPort) throws IOException {
        exchange(SET + "\n" + PRIVATE_KEY + "=" + Keys.toHex(privateKey) + "\n" + LISTEN_PORT + "=" + listenPort + "\n\n");
    }

    /**
     * The datapath serves the socket and holds a private key. The key is asked for (a GET, which lists
     * every peer) only when the socket is not the one last seen configured: a restarted datapath
     * process makes a new socket file (another inode and time). At rest this is a stat and a connect
     * (a killed process leaves its socket file behind, and nobody accepts on it).
     */
    @Override
    public boolean configured() {
        Object identity = socketIdentity();
        if (identity == null) return false;
        if (identity.equals(configuredSocket)) {
            try (SocketChannel c = connect(System.nanoTime() + timeout.toNanos())) {
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        try {
            boolean ok = exchange(GET + "\n\n").contains(PRIVATE_KEY + "=");
            if (ok) configuredSocket = identity;
            return ok;
        } catch (IOException e) {
            return false;
        }
    }

    /** Inode and change time of the socket file; null when there is none. */
    private Object socketIdentity() {
        try {
            var a = java.nio.file.Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class);
            return java.util.List.of(String.valueOf(a.fileKey()), a.lastModifiedTime());
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void upsertPeer(PeerConfig p, PeerState current) throws IOException {
        StringBuilder sb = new StringBuilder(SET).append('\n');
        line(sb, PUBLIC_KEY, hex(p.publicKey()));
        if (p.endpoint() != null) line(sb, ENDPOINT, p.endpoint());
        if (p.presharedKey() != null) line(sb, PRESHARED_KEY, hex(p.presharedKey()));
        else if (current != null && current.presharedKey() != null) line(sb, PRESHARED_KEY, "00".repeat(32)); // all zeros: none
        line(sb, PERSISTENT_KEEPALIVE_INTERVAL, p.persistentKeepalive());
        if (!WireGuardDevice.sameAllowedIps(current, p.allowedIps())) {
            line(sb, REPLACE_ALLOWED_IPS, true);
            for (String ip : p.allowedIps()) line(sb, ALLOWED_IP, ip);
        }
        exchange(sb.append('\n').toString());
    }

    @Override
    public void removePeer(String publicKey) throws IOException {
        exchange(SET + "\n" + PUBLIC_KEY + "=" + hex(publicKey) + "\n" + REMOVE + "=true\n\n");
    }

    @Override
    public List<PeerState> peers() throws IOException {
        List<PeerState> out = new ArrayList<>();
        String key = null, endpoint = null, psk = null;
        List<String> ips = new ArrayList<>();
        long hs = 0, rx = 0, tx = 0;
        int keepalive = 0;
        for (String line : exchange(GET + "\n\n").split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) continue;
            String k = line.substring(0, eq), v = line.substring(eq + 1);
            switch (k) {
                case PUBLIC_KEY -> {
                    if (key != null) out.add(new PeerState(key, endpoint, ips, hs, rx, tx, keepalive, psk));
                    key = Keys.toBase64(HexFormat.of().parseHex(v));
                    endpoint = psk = null;
                    ips = new ArrayList<>();
                    hs = rx = tx = 0;
                    keepalive = 0;
                }
                case ENDPOINT -> endpoint = v;
                case PERSISTENT_KEEPALIVE_INTERVAL -> keepalive = Integer.parseInt(v);
                case PRESHARED_KEY -> {
                    byte[] raw = HexFormat.of().parseHex(v);
                    psk = Keys.isZero(raw) ? null : Keys.toBase64(raw);
                }
                case ALLOWED_IP -> ips.add(v);
                case LAST_HANDSHAKE_TIME_SEC -> hs = Long.parseLong(v);
                case RX_BYTES -> rx = Long.parseLong(v);
                case TX_BYTES -> tx = Long.parseLong(v);
                default -> { }
            }
        }
        if (key != null) out.add(new PeerState(key, endpoint, ips, hs, rx, tx, keepalive, psk));
        return out;
    }
}
