package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.net.Bind;
import io.wiremesh.wireguard.net.Endpoint;
import io.wiremesh.wireguard.session.IndexTable;
import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.timers.Clock;
import io.wiremesh.wireguard.tun.Tun;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One device's data path, assembled: the peer registry, {@link Send}, {@link Receive} and the
 * {@link HandshakeWorker} over the TUN, the clock and the current UDP bind; and the one
 * {@link DeviceContext}, through which they and the {@link Peer}s reach all of that.
 * {@link Device} configures it, swaps its bind, and starts and stops it.
 */
final class Datapath implements DeviceContext {
    final Peers peers = new Peers();
    final DropCounters drops = new DropCounters();
    final HandshakeWorker handshakes;
    final Send send;
    final Receive receive;
    private final Tun tun;
    private final Clock clock;
    private volatile Bind bind;
    final Gate gate = new Gate();

    Datapath(Tun tun, Clock clock, Device.Options options) {
        this.tun = tun;
        this.clock = clock;
        // The parts keep this context for later; none calls it while being built.
        handshakes = new HandshakeWorker(this, peers, !options.threads());
        send = new Send(this, peers.allowedIps(), options.workers(), options.poolSize());
        receive = new Receive(this, peers.allowedIps(), handshakes, options.workers(), options.poolSize());
    }

    /** The current UDP bind; null before the device starts. */
    Bind bind() {
        return bind;
    }

    /** Replaces the bind (the caller closes the old one, which ends the UDP reader's wait on it). */
    void bind(Bind b) {
        bind = b;
    }

    /** Starts the TUN reader, the UDP reader and the handshake thread, in that order. */
    void start() {
        send.start();
        receive.start();
        handshakes.start();
    }

    /** Stops the threads; the readers return once the TUN and the bind are closed. */
    void close() {
        send.close();
        receive.close();
        handshakes.close();
    }

    // ------------------------------------------------------------------ DeviceContext

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public void count(Drop reason) {
        drops.count(reason);
    }

    @Override
    public Element pollOutbound() {
        return send.pool().poll();
    }

    @Override
    public void release(Element e) {
        e.pool.release(e);
    }

    @Override
    public int readTun(ByteBuffer[] packets, int count) throws IOException {
        return tun.read(packets, count);
    }

    @Override
    public void writeTun(ByteBuffer[] packets, int count) {
        try {
            tun.write(packets, count);
        } catch (IOException | RuntimeException e) {
            drops.count(Drop.TUN_WRITE_FAILED);
        }
    }

    @Override
    public int tunMtu() {
        return tun.mtu();
    }

    @Override
    public int receiveDatagrams(ByteBuffer[] packets, Endpoint[] sources, int count) throws IOException {
        Bind b = bind;
        return b == null ? -1 : b.receive(packets, sources, count);
    }

    @Override
    public void sendHandshake(byte[] msg, Endpoint to, Peer peer) {
        Bind b = bind;
        if (b == null || to == null) return;
        try {
            if (!b.send(ByteBuffer.wrap(msg), to) && peer != null) peer.forgetSource(to);
        } catch (IOException | RuntimeException e) {
            drops.count(Drop.SEND_FAILED);
        }
    }

    @Override
    public void sendDatagrams(ByteBuffer[] datagrams, int count, Endpoint to, Peer peer) {
        Bind b = bind;
        if (b == null) {
            for (int i = 0; i < count; i++) drops.count(Drop.SEND_FAILED);
            return;
        }
        try {
            if (!b.send(datagrams, count, to) && peer != null) peer.forgetSource(to);
        } catch (IOException | RuntimeException e) {
            for (int i = 0; i < count; i++) drops.count(Drop.SEND_FAILED);
        }
    }

    @Override
    public Pipeline outbound() {
        return send.pipeline();
    }

    @Override
    public IndexTable<Object> indices() {
        return peers.indices();
    }

    @Override
    public void retire(Keypair kp) {
        peers.retire(kp);
    }

    @Override
    public Gate gate() {
        return gate;
    }

    @Override
    public boolean tunPending() {
        return tun.pending();
    }

    @Override
    public boolean datagramsPending() {
        Bind b = bind;
        return b != null && b.pending();
    }
}
