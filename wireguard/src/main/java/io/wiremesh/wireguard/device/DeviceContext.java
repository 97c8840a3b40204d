package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.net.Endpoint;
import io.wiremesh.wireguard.session.IndexTable;
import io.wiremesh.wireguard.session.Keypair;
import io.wiremesh.wireguard.timers.Clock;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The device as the data path sees it: the one port through which {@link Peer}, {@link Send},
 * {@link Receive} and {@link HandshakeWorker} reach the outside. It offers the device's two I/O ends
 * (the TUN and the current UDP bind), its clock, drop counters, element pools, the outbound
 * pipeline and the receiver-index table, and nothing of configuration or lifecycle, so those
 * classes cannot depend on them. {@link Device} owns the only implementation.
 *
 * <p>Any data-path thread may call any method, per packet: none allocates or logs, and only the
 * two reads block. I/O failures on the write side are counted as {@link Drop}s, never thrown.
 */
interface DeviceContext {
    /** Monotonic time (nanoseconds) for the protocol's timers, wall time for TAI64N and statistics. */
    Clock clock();

    /** Counts one packet dropped for {@code reason} (never throws). */
    void count(Drop reason);

    /** A free outbound element for a packet the device makes itself (a keepalive); null when all are in flight. Never blocks. */
    Element pollOutbound();

    /** Returns {@code e} to the pool it was taken from; the caller must not touch it afterwards. */
    void release(Element e);

    /**
     * Blocks until the TUN yields at least one IP packet: {@code packets[i]} is offered from its
     * position to its limit and holds packet i from that position, limit at its end; returns how many
     * (at most {@code count}), or -1 once the TUN is closed.
     *
     * @throws IOException the interface failed or was deleted
     */
    int readTun(ByteBuffer[] packets, int count) throws IOException;

    /**
     * Writes {@code packets[0..count)} (each position to limit, {@link io.wiremesh.wireguard.tun.Tun#HEADROOM}
     * writable bytes before it) to the TUN in one batched write; a failure counts {@link Drop#TUN_WRITE_FAILED}.
     */
    void writeTun(ByteBuffer[] packets, int count);

    /** The TUN's MTU in bytes as last read (cheap, per packet); 0 or less when unknown. */
    int tunMtu();

    /**
     * Blocks for at least one datagram through the current UDP bind: {@code packets[i]} is offered from
     * its position to its limit and holds datagram i from that position, limit at its end, its source
     * in {@code sources[i]}. Returns how many (at most {@code count}); 0 or less when that bind was
     * closed or replaced by a listen-port change.
     *
     * @throws IOException the socket failed
     */
    int receiveDatagrams(ByteBuffer[] packets, Endpoint[] sources, int count) throws IOException;

    /**
     * Sends a handshake message to {@code to} through the current bind; nothing when there is no bind
     * or no endpoint, {@link Drop#SEND_FAILED} on error. {@code peer} (null for cookie replies) forgets
     * a sticky source address that no longer works.
     */
    void sendHandshake(byte[] msg, Endpoint to, Peer peer);

    /**
     * Sends sealed transport datagrams ({@code datagrams[0..count)}, each position to limit) to
     * {@code peer} at {@code to} through the current bind, in as few system calls as it can;
     * {@link Drop#SEND_FAILED} per datagram on error or without a bind.
     */
    void sendDatagrams(ByteBuffer[] datagrams, int count, Endpoint to, Peer peer);

    /** The outbound pipeline (seal, then send in order); {@link Peer#flushStaged} submits to it under its send lock. */
    Pipeline outbound();

    /** Receiver index -> {@link Keypair} (a session) or {@link Peer} (a pending handshake); whitepaper 5.4. */
    IndexTable<Object> indices();

    /** A session left the peer's keypairs: forget its receiver index and erase its keys. */
    void retire(Keypair kp);

    /** Where the reader, handshake and timer threads park while the device is handed over ({@link Gate#pass}). */
    Gate gate();

    /** Whether the TUN holds packets already read but not yet returned: its reader must not park before them. */
    boolean tunPending();

    /** Whether the bind holds datagrams already read but not yet returned: its reader must not park before them. */
    boolean datagramsPending();
}
