package io.wiremesh.clusterdns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;

/**
 * Upstream DNS servers ({@code --upstream IP[:PORT]}): a query goes over UDP to one server at a time, starting
 * with the last one that answered, each given the timeout; a truncated UDP answer is asked again over TCP (2-byte
 * length prefix, RFC 1035 §4.2.2) from the same server. Every query leaves from a fresh socket (a random source
 * port) with a random ID, and only a response with that ID and the same question is taken. A server that stops
 * answering is logged once, and once again when it answers again.
 */
public final class Forwarder implements Upstream {
    private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final List<InetSocketAddress> servers;
    private final int timeoutMillis;
    private final AtomicInteger preferred = new AtomicInteger();
    private final Map<InetSocketAddress, Boolean> failing = new ConcurrentHashMap<>();

    /**
     * @param servers the upstream servers, in order of preference; not empty
     * @param timeout how long to wait for each server (UDP, and TCP after truncation), at least 1 ms
     */
    public Forwarder(List<InetSocketAddress> servers, Duration timeout) {
        if (servers.isEmpty()) throw new IllegalArgumentException("no upstream server");
        this.servers = List.copyOf(servers);
        this.timeoutMillis = (int) Math.max(1, timeout.toMillis());
    }

    @Override
    public Optional<Message> exchange(Message query) {
        int start = preferred.get();
        for (int i = 0; i < servers.size(); i++) {
            int index = (start + i) % servers.size();
            InetSocketAddress server = servers.get(index);
            try {
                Message m = exchange(server, query);
                preferred.set(index);
                if (failing.remove(server) != null) LOG.info("upstream {} answers again", text(server));
                return Optional.of(m);
            } catch (IOException e) {
                if (failing.put(server, true) == null) {
                    LOG.warn("upstream {} does not answer ({}); trying the others", text(server), Objects.requireNonNullElse(e.getMessage(), e.toString()));
                }
            }
        }
        return Optional.empty();
    }

    private Message exchange(InetSocketAddress server, Message query) throws IOException {
        Message q = query.clone();
        int id = RANDOM.nextInt(1 << 16);
        q.getHeader().setID(id);
        byte[] out = q.toWire();
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        Message m;
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(server);
            s.send(new DatagramPacket(out, out.length));
            byte[] buf = new byte[65535];
            while (true) {
                int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
                if (left <= 0) throw new SocketTimeoutException("no UDP answer within " + timeoutMillis + " ms");
                s.setSoTimeout(left);
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                Optional<Message> r = matching(java.util.Arrays.copyOf(p.getData(), p.getLength()), id, q);
                if (r.isPresent()) {
                    m = r.get();
                    break;
                }
            }
        }
        if (m.getHeader().getFlag(Flags.TC)) m = overTcp(server, out, id, q);
        m.getHeader().setID(query.getHeader().getID());
        return m;
    }

    private Message overTcp(InetSocketAddress server, byte[] out, int id, Message q) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server, timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            DataOutputStream w = new DataOutputStream(s.getOutputStream());
            w.writeShort(out.length);
            w.write(out);
            w.flush();
            DataInputStream r = new DataInputStream(s.getInputStream());
            byte[] in = new byte[r.readUnsignedShort()];
            r.readFully(in);
            return matching(in, id, q).orElseThrow(() -> new IOException("TCP answer for another query"));
        }
    }

    /** The message if it is a response to this query: same ID and question; empty for anything else (spoofed, late, garbled). */
    static Optional<Message> matching(byte[] bytes, int id, Message query) {
        try {
            Message m = new Message(bytes);
            if (m.getHeader().getID() != id || !m.getHeader().getFlag(Flags.QR)) return Optional.empty();
            if (m.getQuestion() == null || !m.getQuestion().equals(query.getQuestion())) return Optional.empty();
            return Optional.of(m);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String text(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    @Override
    public String toString() {
        return servers.stream().map(Forwarder::text).toList() + " (timeout " + timeoutMillis + " ms each)";
    }
}
