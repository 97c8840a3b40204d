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

    int port();

    /** Marks outgoing packets for policy routing (SO_MARK); 0 clears the mark. */
    default void setMark(int mark) throws IOException {}

    @Override
    void close();

    /** Opens a bind on a port (0 = any free port). */
    interface Factory {
        Bind open(int port) throws IOException;
    }
}
