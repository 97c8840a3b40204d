package io.wiremesh.wireguard.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/** The UDP side of a device (wireguard-go's conn.Bind). */
public interface Bind extends AutoCloseable {
    /** Blocks for one datagram into {@code dst}; returns its source, or null once closed. */
    InetSocketAddress receive(ByteBuffer dst) throws IOException;

    void send(ByteBuffer src, InetSocketAddress to) throws IOException;

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
