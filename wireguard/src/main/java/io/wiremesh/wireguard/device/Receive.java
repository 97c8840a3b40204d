package io.wiremesh.wireguard.device;

import static io.wiremesh.wireguard.Protocol.*;

import io.wiremesh.wireguard.crypto.Aead;
import io.wiremesh.wireguard.net.Endpoint;
import io.wiremesh.wireguard.noise.Messages;
import io.wiremesh.wireguard.routing.AllowedIps;
import io.wiremesh.wireguard.session.Keypair;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The inbound direction (wireguard-go's receive.go), UDP to TUN, a batch at a time:
 * <ol>
 *   <li>{@link #read}: the UDP reader ({@code wg-udp-reader}) receives up to {@link #BATCH} datagrams
 *       into pooled elements (recvmmsg);
 *   <li>{@link #dispatch}: by message type; handshake messages are copied out for the {@link HandshakeWorker},
 *       transport messages find their session by receiver index and enter this direction's {@link Pipeline};
 *   <li>{@link #process}: open in place (any crypto thread);
 *   <li>{@link #deliver}, in order and only for authenticated packets: replay check, session confirmation,
 *       roaming, timers, and the cryptokey-routing source check (whitepaper 2);
 *   <li>{@link #flush}: the batch's packets go to the TUN in one batched write (a TUN with offloads
 *       merges a flow's TCP segments into one superpacket).
 * </ol>
 * Owns the inbound element pool and pipeline. Nothing here allocates or logs per transport packet.
 */
final class Receive implements Pipeline.Stage {
    /** Datagrams per receive (recvmmsg). */
    static final int BATCH = 64;
    /** Packets held for one TUN write: more than a batch when crypto workers run ahead. */
    private static final int PENDING = 128;

    private final DeviceContext device;
    private final AllowedIps<Peer> routes;
    private final HandshakeWorker handshakes;
    private final ElementPool pool;
    private final Pipeline pipeline;
    private volatile boolean closed;
    private volatile Thread reader;

    // The reader's.
    private final ReadBatch batch;
    private final Endpoint[] sources = new Endpoint[BATCH];

    // The deliverer's (the pipeline never runs deliver and flush concurrently).
    private final Element[] pending = new Element[PENDING];
    private final ByteBuffer[] packets = new ByteBuffer[PENDING];
    private int pendingCount;

    /**
     * @param workers crypto threads; 0 = open and deliver on the UDP reader
     * @param poolSize elements (datagram buffers of {@link Element#CAPACITY} bytes) in flight at most
     */
    Receive(DeviceContext device, AllowedIps<Peer> routes, HandshakeWorker handshakes, int workers, int poolSize) {
        this.device = device;
        this.routes = routes;
        this.handshakes = handshakes;
        this.pool = new ElementPool(poolSize);
        this.batch = new ReadBatch(pool, Math.min(BATCH, poolSize));
        // Last: the pipeline calls back only for submitted elements, so never before this constructor returns.
        this.pipeline = new Pipeline("wg-rx", this, workers, poolSize);
    }

    ElementPool pool() {
        return pool;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    /** Starts the UDP reader thread. */
    void start() {
        reader = Thread.ofPlatform().daemon().name("wg-udp-reader").start(this::readLoop);
    }

    private void readLoop() {
        try {
            while (!closed) {
                int offered = batch.fill();
                int n;
                try {
                    if (!device.datagramsPending()) device.gate().pass(); // never park on a coalesced read's datagrams
                    n = read(offered);
                } catch (IOException | RuntimeException ex) {
                    continue; // the elements stay in the batch
                }
                if (n <= 0) continue; // the bind was closed or replaced (listen port change)
                for (int i = 0; i < n; i++) {
                    Element e = batch.get(i);
                    Endpoint src = sources[i];
                    sources[i] = null;
                    try {
                        dispatch(e, src);
                    } catch (RuntimeException ex) {
                        // dispatch frees what it does not hand on; a faulty datagram must not stop the reader
                    }
                }
                batch.taken(n);
                pipeline.flush();
            }
        } catch (InterruptedException ie) {
            // closing
        } finally {
            batch.releaseAll();
        }
    }

    /**
     * One batched receive into the batch's first {@code offered} elements, each at offset 0 with
     * {@code length} set and its source in {@link #sources}; returns how many, or 0 or less when the
     * bind was closed or replaced.
     */
    private int read(int offered) throws IOException {
        for (int i = 0; i < offered; i++) batch.get(i).buf.limit(Element.CAPACITY).position(0);
        int n = device.receiveDatagrams(batch.buffers, sources, offered);
        for (int i = 0; i < n; i++) {
            Element e = batch.get(i);
            e.length = e.buf.limit();
        }
        return n;
    }

    /** One datagram as a batch of one: {@link #dispatch}, then {@link #flush} through the pipeline. */
    void handle(Element e, Endpoint source) {
        dispatch(e, source);
        pipeline.flush();
    }

    /**
     * Dispatches a datagram ({@code e.length} bytes at offset 0) received from {@code source} by its
     * message type (whitepaper 5.4); malformed ones are counted and freed. Takes ownership of {@code e}.
     */
    void dispatch(Element e, Endpoint source) {
        e.state = Element.PENDING;
        int n = e.length;
        if (n < 4) {
            drop(e, Drop.TOO_SHORT);
            return;
        }
        int type = e.buf.getInt(0); // the three reserved bytes must be zero, so compare the whole word
        switch (type) {
            case MESSAGE_TRANSPORT -> transport(e, source);
            case MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_COOKIE_REPLY -> {
                int expected = type == MESSAGE_INITIATION ? INITIATION_SIZE
                        : type == MESSAGE_RESPONSE ? RESPONSE_SIZE : COOKIE_REPLY_SIZE;
                if (n != expected) {
                    drop(e, Drop.BAD_SIZE);
                    return;
                }
                // Copied so the buffer goes straight back to the pool: handshakes are rare and slow.
                byte[] msg = new byte[n];
                e.buf.get(0, msg);
                pool.release(e);
                handshakes.submit(msg, source);
            }
            default -> drop(e, Drop.BAD_TYPE);
        }
    }

    private void drop(Element e, Drop reason) {
        device.count(reason);
        pool.release(e);
    }

    /** A transport message: find its live session by receiver index, then open it in the pipeline. */
    private void transport(Element e, Endpoint source) {
        if (e.length < TRANSPORT_MIN_SIZE) {
            drop(e, Drop.TOO_SHORT);
            return;
        }
        Object entry = device.indices().get(e.buf.getInt(Messages.DATA_RECEIVER));
        if (!(entry instanceof Keypair kp)) {
            drop(e, Drop.UNKNOWN_INDEX);
            return;
        }
        if (kp.destroyed() || kp.expired(device.clock().nanos())) {
            drop(e, Drop.EXPIRED_SESSION);
            return;
        }
        e.keypair = kp;
        e.peer = (Peer) kp.owner;
        e.counter = e.buf.getLong(Messages.DATA_COUNTER);
        e.endpoint = source;
        pipeline.submit(e);
    }

    /** Opens {@code e} in place: the plaintext lands at {@link Element#HEADER}, up to {@code buf}'s limit. */
    @Override
    public void process(Element e, Aead cipher) {
        ByteBuffer src = e.view;
        src.limit(e.length).position(Element.HEADER);
        ByteBuffer b = e.buf;
        b.limit(Element.CAPACITY).position(Element.HEADER);
        int n = cipher.open(e.keypair.receiveKey, e.counter, src, b);
        if (n < 0) {
            e.state = Element.DROP;
            return;
        }
        // e.length stays the datagram length (rx_bytes counts it); the plaintext ends at b's limit.
        b.limit(Element.HEADER + n);
        e.state = Element.OK;
    }

    /** The checks and bookkeeping after authentication, in counter order; the packet is then held for {@link #flush}. */
    @Override
    public void deliver(Element e) {
        boolean write;
        try {
            write = accept(e);
        } catch (RuntimeException ex) {
            pool.release(e); // the pipeline swallows the exception; the element must not leak
            throw ex;
        }
        if (!write) {
            pool.release(e);
            return;
        }
        e.buf.limit(Element.HEADER + e.size).position(Element.HEADER);
        packets[pendingCount] = e.buf;
        pending[pendingCount++] = e;
        if (pendingCount == PENDING) flush();
    }

    /** Writes the held packets to the TUN in one batched write and frees them. */
    @Override
    public void flush() {
        int count = pendingCount;
        if (count == 0) return;
        pendingCount = 0;
        try {
            device.writeTun(packets, count);
        } finally {
            for (int i = 0; i < count; i++) {
                pool.release(pending[i]);
                pending[i] = null;
                packets[i] = null;
            }
        }
    }

    /**
     * Whether the opened packet {@code e} goes to the TUN, after the replay check, the session and
     * timer bookkeeping, roaming and the source check; sets {@code e.size} to the inner packet's
     * length. False for keepalives and for drops (counted).
     */
    private boolean accept(Element e) {
        if (e.state == Element.DROP) {
            device.count(Drop.DECRYPT_FAILED);
            return false;
        }
        Keypair kp = e.keypair;
        Peer p = e.peer;
        if (!kp.replay.accept(e.counter)) {
            device.count(Drop.REPLAYED_COUNTER);
            return false;
        }
        long now = device.clock().nanos();
        if (p.keypairs.received(kp)) {
            p.handshakeComplete();
            p.flushStaged();
        }
        // Whitepaper 6.2: the initiator rekeys shortly before the session would be rejected.
        if (kp.initiator && kp == p.keypairs.current()
                && now - kp.createdNanos > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
                && p.timers.lastMinuteHandshake()) {
            p.sendInitiation(false);
        }
        p.timers.anyAuthenticatedPacketTraversal(now);
        p.timers.anyAuthenticatedPacketReceived();
        p.updateEndpoint(e.endpoint);
        p.rxBytes.addAndGet(e.length);

        ByteBuffer b = e.net;
        int plain = e.buf.limit() - Element.HEADER;
        if (plain == 0) return false; // keepalive
        p.timers.dataReceived(now);

        int version = (b.get(Element.HEADER) >> 4) & 0xf;
        int total;
        Peer owner;
        if (version == 4 && plain >= 20) {
            total = b.getShort(Element.HEADER + 2) & 0xffff;
            owner = routes.lookupV4(b.getInt(Element.HEADER + 12));
            if (total < 20) total = -1;
        } else if (version == 6 && plain >= 40) {
            total = 40 + (b.getShort(Element.HEADER + 4) & 0xffff);
            owner = routes.lookupV6(b.getLong(Element.HEADER + 8), b.getLong(Element.HEADER + 16));
        } else {
            device.count(Drop.BAD_INNER_PACKET);
            return false;
        }
        if (total < 0 || total > plain) {
            device.count(Drop.BAD_INNER_PACKET);
            return false;
        }
        if (owner != p) {
            device.count(Drop.DISALLOWED_SOURCE);
            return false;
        }
        e.size = total;
        return true;
    }

    /** Stops the reader (it ends at its next datagram, or when the bind closes) and the pipeline's threads. */
    void close() {
        closed = true;
        Thread t = reader;
        if (t != null) t.interrupt();
        pipeline.close();
    }
}
