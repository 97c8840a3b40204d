package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.Aead;
import io.wiremesh.wireguard.routing.AllowedIps;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;

/**
 * The outbound direction (wireguard-go's send.go), TUN to UDP, a batch at a time:
 * <ol>
 *   <li>{@link #read}: the TUN reader ({@code wg-tun-reader}) reads up to {@link #BATCH} plaintext IP
 *       packets into pooled elements (a TUN with offloads splits a TCP superpacket into segments);
 *   <li>{@link #lookup}: cryptokey routing by destination address (AllowedIPs, whitepaper 2), and the
 *       peer stages the packet;
 *   <li>{@link Peer#flushStaged}, once per peer and batch: under the peer's send lock, counters are
 *       assigned and the packets submitted to this direction's {@link Pipeline};
 *   <li>{@link #process}: pad and seal in place (any crypto thread, whitepaper 5.4.6);
 *   <li>{@link #deliver} / {@link #flush}: in submission (= counter) order, each peer's run of
 *       datagrams leaves in as few system calls as the bind can (UDP segmentation offload), then the
 *       send timers run once per run.
 * </ol>
 * Owns the outbound element pool and pipeline. Nothing here allocates or logs per packet.
 */
final class Send implements Pipeline.Stage {
    /** Packets per TUN read: a 64 KiB TCP superpacket at MTU 1420 is 47 segments. */
    static final int BATCH = 64;
    /** Sealed datagrams held for one flush: a peer's whole staged queue. */
    private static final int PENDING = Peer.MAX_STAGED;
    /** Room behind a packet read from the TUN for padding (at most 15 bytes) and the 16-byte tag. */
    private static final int TRAILER = 32;

    private final DeviceContext device;
    private final AllowedIps<Peer> routes;
    private final ElementPool pool;
    private final Pipeline pipeline;
    private final CountDownLatch tunGone = new CountDownLatch(1);
    private volatile boolean closed;
    private volatile Thread reader;

    // The reader's: one batch and the peers it touched.
    private final ReadBatch batch;
    private final Peer[] touched = new Peer[BATCH];

    // The deliverer's (the pipeline never runs deliver and flush concurrently).
    private final Element[] pending = new Element[PENDING];
    private final ByteBuffer[] datagrams = new ByteBuffer[PENDING];
    private int pendingCount;

    /**
     * @param workers crypto threads; 0 = seal and send on the thread that submits
     * @param poolSize elements (packet buffers of {@link Element#CAPACITY} bytes) in flight at most
     */
    Send(DeviceContext device, AllowedIps<Peer> routes, int workers, int poolSize) {
        this.device = device;
        this.routes = routes;
        this.pool = new ElementPool(poolSize);
        this.batch = new ReadBatch(pool, Math.min(BATCH, poolSize));
        // Last: the pipeline calls back only for submitted elements, so never before this constructor returns.
        this.pipeline = new Pipeline("wg-tx", this, workers, poolSize);
    }

    /** Pad to a multiple of 16 without exceeding the MTU (whitepaper 5.4.6); lengths in bytes, mtu <= 0 = unknown. */
    static int paddedLength(int length, int mtu) {
        int last = length;
        if (mtu > 0 && last > mtu) last %= mtu;
        int padded = (last + Protocol.PADDING_MULTIPLE - 1) & ~(Protocol.PADDING_MULTIPLE - 1);
        if (mtu > 0 && padded > mtu) padded = mtu;
        return length + padded - last;
    }

    ElementPool pool() {
        return pool;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    /** Starts the TUN reader thread. */
    void start() {
        reader = Thread.ofPlatform().daemon().name("wg-tun-reader").start(this::readLoop);
    }

    /** Blocks until the TUN reader stopped because the TUN failed, disappeared or was closed. */
    void awaitTunGone() throws InterruptedException {
        tunGone.await();
    }

    private void readLoop() {
        try {
            while (!closed) {
                int offered = batch.fill();
                int n;
                try {
                    if (!device.tunPending()) device.gate().pass(); // never park on a superpacket's segments
                    n = read(offered);
                } catch (IOException ex) {
                    // The interface is gone (ip link del) or broken: stop, like wireguard-go does.
                    if (!closed) System.err.println("wiremesh-wg: TUN failed, stopping: " + ex.getMessage());
                    return;
                } catch (RuntimeException ex) {
                    continue; // the elements stay in the batch
                }
                if (n < 0) return;
                if (n == 0) continue; // nothing within the TUN's short wait: back to the gate
                routeBatch(n);
            }
        } catch (InterruptedException ie) {
            // closing
        } finally {
            batch.releaseAll();
            tunGone.countDown();
        }
    }

    /**
     * One batched TUN read into the batch's first {@code offered} elements, each at
     * {@link Element#HEADER} with {@code length} set; returns how many, or -1 once the TUN is closed.
     */
    private int read(int offered) throws IOException {
        for (int i = 0; i < offered; i++) batch.get(i).buf.limit(Element.CAPACITY - TRAILER).position(Element.HEADER);
        int n = device.readTun(batch.buffers, offered);
        for (int i = 0; i < n; i++) {
            Element e = batch.get(i);
            e.length = e.buf.limit() - Element.HEADER;
        }
        return n;
    }

    /** Stages the batch's first {@code n} packets with their peers, then flushes each peer once. */
    private void routeBatch(int n) {
        int peers = 0;
        for (int i = 0; i < n; i++) {
            Element e = batch.get(i);
            Peer p;
            try {
                p = lookup(e);
            } catch (RuntimeException ex) {
                pool.release(e); // a faulty packet must not stop the reader
                continue;
            }
            if (p == null || !p.stage(e)) continue;
            int k = 0;
            while (k < peers && touched[k] != p) k++;
            if (k == peers) touched[peers++] = p;
        }
        batch.taken(n);
        for (int k = 0; k < peers; k++) {
            try {
                touched[k].flushStaged();
            } catch (RuntimeException ex) {
                // the peer's packets stay staged for its next flush
            } finally {
                touched[k] = null;
            }
        }
    }

    /**
     * The peer whose AllowedIPs contain the destination of the plaintext IP packet in {@code e} (at
     * {@link Element#HEADER}, {@code e.length} bytes); null after counting {@link Drop#NO_ROUTE} or
     * {@link Drop#NO_ENDPOINT} and freeing the element.
     */
    Peer lookup(Element e) {
        ByteBuffer b = e.net;
        Peer p = null;
        if (e.length >= 20 && (b.get(Element.HEADER) >> 4 & 0xf) == 4) {
            p = routes.lookupV4(b.getInt(Element.HEADER + 16));
        } else if (e.length >= 40 && (b.get(Element.HEADER) >> 4 & 0xf) == 6) {
            p = routes.lookupV6(b.getLong(Element.HEADER + 24), b.getLong(Element.HEADER + 32));
        }
        if (p == null) {
            device.count(Drop.NO_ROUTE);
            pool.release(e);
            return null;
        }
        if (p.endpoint() == null) {
            device.count(Drop.NO_ENDPOINT);
            pool.release(e);
            return null;
        }
        return p;
    }

    /** Routes one packet and sends it (a batch of one); takes ownership of {@code e}. */
    void route(Element e) {
        Peer p = lookup(e);
        if (p != null) p.send(e);
    }

    /** Pads and seals {@code e} in place: transport header at 0, ciphertext and tag from {@link Element#HEADER}. */
    @Override
    public void process(Element e, Aead cipher) {
        ByteBuffer b = e.buf;
        b.limit(Element.CAPACITY);
        int padded = paddedLength(e.length, device.tunMtu());
        for (int i = Element.HEADER + e.length; i < Element.HEADER + padded; i++) b.put(i, (byte) 0);
        b.putInt(0, Protocol.MESSAGE_TRANSPORT);
        b.putInt(4, e.keypair.remoteIndex);
        b.putLong(8, e.counter);
        ByteBuffer src = e.view;
        src.limit(Element.HEADER + padded).position(Element.HEADER);
        b.position(Element.HEADER);
        int n = cipher.seal(e.keypair.sendKey, e.counter, src, b);
        e.size = Element.HEADER + n;
        e.state = Element.OK;
    }

    /** Holds the sealed datagram for the next {@link #flush} (at once when {@link #PENDING} are held). */
    @Override
    public void deliver(Element e) {
        if (e.state == Element.DROP) {
            device.count(Drop.SEND_FAILED);
            pool.release(e);
            return;
        }
        e.buf.limit(e.size).position(0);
        pending[pendingCount++] = e;
        if (pendingCount == PENDING) flush();
    }

    /**
     * Sends the held datagrams, each run with the same peer and endpoint in one call, then accounts
     * them and runs the send timers (whitepaper 6) once per run, and frees them.
     */
    @Override
    public void flush() {
        int count = pendingCount;
        pendingCount = 0; // whatever happens below, the next run starts empty
        int i = 0;
        try {
            while (i < count) {
                Element first = pending[i];
                Peer p = first.peer;
                int j = i;
                long bytes = 0;
                boolean data = false;
                while (j < count && pending[j].peer == p && pending[j].endpoint == first.endpoint) {
                    Element e = pending[j];
                    datagrams[j - i] = e.buf;
                    bytes += e.size;
                    data |= e.length > 0;
                    j++;
                }
                try {
                    device.sendDatagrams(datagrams, j - i, first.endpoint, p);
                    p.txBytes.addAndGet(bytes);
                    long now = device.clock().nanos();
                    p.timers.anyAuthenticatedPacketTraversal(now);
                    p.timers.anyAuthenticatedPacketSent();
                    if (data) p.timers.dataSent(now);
                } finally {
                    for (int k = i; k < j; k++) {
                        datagrams[k - i] = null;
                        pool.release(pending[k]);
                        pending[k] = null;
                    }
                    i = j;
                }
            }
        } finally {
            for (int k = i; k < count; k++) {
                if (pending[k] != null) pool.release(pending[k]);
                pending[k] = null;
            }
        }
    }

    /** Stops the reader (it ends at its next packet, or when the TUN closes) and the pipeline's threads. */
    void close() {
        closed = true;
        Thread t = reader;
        if (t != null) t.interrupt();
        pipeline.close();
    }
}
