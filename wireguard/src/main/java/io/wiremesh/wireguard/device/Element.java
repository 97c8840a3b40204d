package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.net.Endpoint;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One packet in flight, with its own direct buffer (wireguard-go's QueueOutboundElement /
 * QueueInboundElement). Elements are pooled: the hot path never allocates.
 *
 * <p>Layout: outbound packets are read from the TUN at {@link #HEADER}, so the transport header is
 * written in front of them and they are sealed in place; inbound datagrams are received at 0 and
 * opened in place, so the plaintext starts at {@link #HEADER}.
 */
final class Element {
    static final int HEADER = 16;
    static final int CAPACITY = 65536 + 64;

    final ElementPool pool;
    final ByteBuffer buf = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
    /** Second view of the same memory, so crypto can read one region while writing another. */
    final ByteBuffer view = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    /** Big-endian view for IP header fields. */
    final ByteBuffer net = buf.duplicate();

    /**
     * Outbound: plaintext length in bytes (without padding). Inbound: the datagram length throughout,
     * as rx_bytes counts it; once opened, the plaintext runs from {@link #HEADER} to {@code buf}'s limit.
     */
    int length;
    Peer peer;
    Keypair keypair;
    long counter;
    /** Outbound: datagram length once sealed. Inbound: the inner IP packet's length once accepted (padding excluded). */
    int size;
    Endpoint endpoint;
    /** Set by the crypto stage, read by the in-order stage. */
    volatile int state;

    static final int PENDING = 0;
    static final int OK = 1;
    static final int DROP = 2;

    Element(ElementPool pool) {
        this.pool = pool;
    }

    void reset() {
        length = 0;
        peer = null;
        keypair = null;
        counter = 0;
        size = 0;
        endpoint = null;
        state = PENDING;
        buf.clear();
    }
}
