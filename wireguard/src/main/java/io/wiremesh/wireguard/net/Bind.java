package io.wiremesh.wireguard.net;

import java.io.IOException;
import java.nio.ByteBuffer;

/** The UDP side of a device (wireguard-go's conn.Bind). */
public interface Bind extends AutoCloseable {
    /**
     * Blocks for one datagram into {@code dst} (from its position, which it advances); returns where
     * it came from, with the local address it was sent to where the bind knows it, or null once closed.
     */
    Endpoint receive(ByteBuffer dst) throws IOException;

    /**
     * Sends {@code src} (position to limit) to {@code to}'s address, from {@code to}'s source address
     * when it has one and the bind supports it. Returns false when that source is no longer usable
     * (the address left the host): the datagram then left from the address routing chose, and the
     * caller should forget the source. True otherwise.
     */
    boolean send(ByteBuffer src, Endpoint to) throws IOException;

    /**
     * Receives at least one datagram, blocking for the first: {@code packets[i]} is offered from its
     * position to its limit and on return holds datagram i from the same position, limit at its end,
     * with its origin in {@code sources[i]}. Returns how many (at most {@code count}), or -1 once
     * closed; 0 when the bind was replaced under the caller. Binds without batching take one.
     */
    default int receive(ByteBuffer[] packets, Endpoint[] sources, int count) throws IOException {
        ByteBuffer b = packets[0];
        int start = b.position();
        Endpoint from = receive(b);
        if (from == null) return -1;
        b.limit(b.position()).position(start);
        sources[0] = from;
        return 1;
    }

    /**
     * Sends {@code packets[0..count)} (each position to limit, one datagram each, in order) to
     * {@code to}, in as few system calls as the bind can; positions are left as they were. Returns
     * false when {@code to}'s source was no longer usable for any of them (see {@link #send}).
     */
    default boolean send(ByteBuffer[] packets, int count, Endpoint to) throws IOException {
        boolean sourceOk = true;
        for (int i = 0; i < count; i++) {
            ByteBuffer b = packets[i];
            int p = b.position();
            try {
                sourceOk &= send(b, to);
            } finally {
                b.position(p);
            }
        }
        return sourceOk;
    }

    int port();

    /** Marks outgoing packets for policy routing (SO_MARK); 0 clears the mark. */
    default void setMark(int mark) throws IOException {}

    @Override
    void close();

    /** Whether datagrams already read from the kernel wait to be returned (the rest of a coalesced read). */
    default boolean pending() {
        return false;
    }

    /** Closes this process's hold on the socket only, leaving it to a successor that holds it too (no shutdown). */
    default void release() {
        close();
    }

    /** Opens a bind on a port (0 = any free port). */
    interface Factory {
        Bind open(int port) throws IOException;
    }
}
