package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.ChaChaPoly;
import io.wiremesh.wireguard.routing.AllowedIps;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;

/**
 * The outbound direction (wireguard-go's send.go), TUN to UDP:
 * <ol>
 *   <li>{@link #read}: the TUN reader ({@code wg-tun-reader}) reads a plaintext IP packet into a pooled element;
 *   <li>{@link #route}: cryptokey routing by destination address (AllowedIPs, whitepaper 2);
 *   <li>{@link Peer#send}: the peer stages it, and under its send lock assigns the counter and submits it
 *       to this direction's {@link Pipeline};
 *   <li>{@link #process}: pad and seal in place (any crypto thread, whitepaper 5.4.6);
 *   <li>{@link #deliver}: send the datagram and run the send timers, in submission (= counter) order.
 * </ol>
 * Owns the outbound element pool and pipeline. Nothing here allocates or logs per packet.
 */
final class Send implements Pipeline.Stage {
    /** Room behind a packet read from the TUN for padding (at most 15 bytes) and the 16-byte tag. */
    private static final int TRAILER = 32;

    private final DeviceContext device;
    private final AllowedIps<Peer> routes;
    private final ElementPool pool;
    private final Pipeline pipeline;
    private final CountDownLatch tunGone = new CountDownLatch(1);
    private volatile boolean closed;
    private volatile Thread reader;

    /**
     * @param workers crypto threads; 0 = seal and send on the thread that submits
     * @param poolSize elements (packet buffers of {@link Element#CAPACITY} bytes) in flight at most
     */
    Send(DeviceContext device, AllowedIps<Peer> routes, int workers, int poolSize) {
        this.device = device;
        this.routes = routes;
        this.pool = new ElementPool(poolSize);
        // Last: the pipeline calls back only for submitted elements, so never before this constructor returns.
        this.pipeline = new Pipeline("wg-tx", this, workers, poolSize, pool::release);
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
        while (!closed) {
            Element e;
            try {
                e = pool.take();
            } catch (InterruptedException ie) {
                return;
            }
            try {
                if (!read(e)) {
                    pool.release(e);
                    tunGone.countDown();
                    return;
                }
                route(e);
            } catch (IOException ex) {
                // The interface is gone (ip link del) or broken: stop, like wireguard-go does.
                pool.release(e);
                if (!closed) System.err.println("wiremesh-wg: TUN failed, stopping: " + ex.getMessage());
                tunGone.countDown();
                return;
            } catch (RuntimeException ex) {
                pool.release(e);
            }
        }
    }

    /**
     * Reads one plaintext packet from the TUN into {@code e} at {@link Element#HEADER} and sets
     * {@code e.length}; false once the TUN is closed. The unit a batched read would widen to several elements.
     */
    private boolean read(Element e) throws IOException {
        e.buf.limit(Element.CAPACITY - TRAILER).position(Element.HEADER);
        int n = device.readTun(e.buf);
        if (n < 0) return false;
        e.length = n;
        return true;
    }

    /**
     * Hands a plaintext IP packet (at {@link Element#HEADER}, {@code e.length} bytes) to the peer whose
     * AllowedIPs contain its destination; counts {@link Drop#NO_ROUTE} or {@link Drop#NO_ENDPOINT} and
     * frees the element otherwise. Takes ownership of {@code e}.
     */
    void route(Element e) {
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
            return;
        }
        if (p.endpoint() == null) {
            device.count(Drop.NO_ENDPOINT);
            pool.release(e);
            return;
        }
        p.send(e);
    }

    /** Pads and seals {@code e} in place: transport header at 0, ciphertext and tag from {@link Element#HEADER}. */
    @Override
    public void process(Element e, ChaChaPoly cipher) {
        ByteBuffer b = e.buf;
        int padded = paddedLength(e.length, device.tunMtu());
        for (int i = Element.HEADER + e.length; i < Element.HEADER + padded; i++) b.put(i, (byte) 0);
        b.putInt(0, Protocol.MESSAGE_TRANSPORT);
        b.putInt(4, e.keypair.remoteIndex);
        b.putLong(8, e.counter);
        ByteBuffer src = e.view;
        src.limit(Element.HEADER + padded).position(Element.HEADER);
        b.limit(Element.CAPACITY).position(Element.HEADER);
        int n = cipher.seal(e.keypair.sendKey, e.counter, src, b);
        e.size = Element.HEADER + n;
        e.state = Element.OK;
    }

    /** Sends the sealed datagram, then accounts it and runs the send timers (whitepaper 6). */
    @Override
    public void deliver(Element e) {
        if (e.state == Element.DROP) {
            device.count(Drop.SEND_FAILED);
            return;
        }
        Peer p = e.peer;
        int size = e.size;
        e.buf.limit(size).position(0);
        device.sendDatagram(e.buf, e.endpoint, e.peer);
        p.txBytes.addAndGet(size);
        long now = device.clock().nanos();
        p.timers.anyAuthenticatedPacketTraversal(now);
        p.timers.anyAuthenticatedPacketSent();
        if (e.length > 0) p.timers.dataSent(now);
    }

    /** Stops the reader (it ends at its next packet, or when the TUN closes) and the pipeline's threads. */
    void close() {
        closed = true;
        Thread t = reader;
        if (t != null) t.interrupt();
        pipeline.close();
    }
}
