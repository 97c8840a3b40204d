package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.net.Endpoint;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One packet in flight, with its own direct buffer (wireguard-go's QueueOutboundElement /
 * QueueInboundElement). Elements are pooled: the hot path never allocates. The buffer is made the
 * first time the element is taken, so an idle device holds only the few it has used.
 *
 * <p>Layout: outbound packets are read from the TUN at {@link #HEADER}, so the transport header is
 * written in front of them and they are sealed in place; inbound datagrams are received at 0 and
 * opened in place, so the plaintext starts at {@link #HEADER}.
 */
final class Element {
    static final int HEADER = 16;
    /**
     * The largest IP packet carried, in bytes: jumbo frames (the mesh's MTU is at most 9,000). A TUN
     * with offloads hands larger TCP data over as superpackets, which are split into MTU-sized segments
     * before they reach an element.
     */
    static final int MAX_PACKET = 9216;
    /** Header, packet, padding (at most 15 bytes) and the 16-byte tag, rounded up. */
    static final int CAPACITY = HEADER + MAX_PACKET + 48;

    final ElementPool pool;
    ByteBuffer buf;
    /** Second view of the same memory, so crypto can read one region while writing another. */
    ByteBuffer view;
    /** Big-endian view for IP header fields. */
    ByteBuffer net;

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

    /** Clears the bookkeeping for the next packet, making the buffer on first use. */
    void reset() {
        if (buf == null) {
            buf = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
            view = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            net = buf.duplicate();
        }
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
