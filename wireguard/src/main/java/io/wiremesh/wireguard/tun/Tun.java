package io.wiremesh.wireguard.tun;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A layer-3 packet device: one IP packet per read or write. */
public interface Tun extends AutoCloseable {
    String name();

    /** The device MTU, as last read; cheap enough to call per packet. */
    int mtu();

    /** Re-reads values that may change outside the process (the MTU); called about once a second. */
    default void refresh() {}

    /** Blocks until a packet is read into {@code dst} (position..limit); returns its length, or -1 once closed. */
    int read(ByteBuffer dst) throws IOException;

    /** Writes the packet in {@code src} (position..limit). */
    void write(ByteBuffer src) throws IOException;

    @Override
    void close();
}
