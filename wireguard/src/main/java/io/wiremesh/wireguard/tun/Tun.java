package io.wiremesh.wireguard.tun;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A layer-3 packet device. The single-packet {@link #read(ByteBuffer)} / {@link #write(ByteBuffer)}
 * move one IP packet; the batched forms let a device with offloads return many packets per read
 * (a TCP superpacket split into segments) and merge many per write.
 */
public interface Tun extends AutoCloseable {
    /** Bytes in front of each packet's position that {@link #write(ByteBuffer[], int)} may overwrite. */
    int HEADROOM = 16;

    String name();

    /** The device MTU, as last read; cheap enough to call per packet. */
    int mtu();

    /** Re-reads values that may change outside the process (the MTU); called about once a second. */
    default void refresh() {}

    /**
     * Blocks until a packet is read into {@code dst} (position..limit); returns its length, 0 when none
     * came within a short wait (the caller may then see to other things and call again), or -1 once closed.
     */
    int read(ByteBuffer dst) throws IOException;

    /** Writes the packet in {@code src} (position..limit). */
    void write(ByteBuffer src) throws IOException;

    /**
     * Reads at least one packet, blocking for the first: {@code packets[i]} is offered from its
     * position to its limit, and on return holds packet i from that same position with the limit at
     * its end. Returns how many (1..count), 0 when none came within a short wait, or -1 once the
     * device is closed or gone.
     */
    default int read(ByteBuffer[] packets, int count) throws IOException {
        ByteBuffer b = packets[0];
        int start = b.position();
        int n = read(b);
        if (n <= 0) return n;
        b.limit(start + n).position(start);
        return 1;
    }

    /**
     * Writes {@code packets[0..count)} (each position to limit, with {@link #HEADROOM} writable bytes
     * before it), in order within each flow; a device with offloads may merge consecutive TCP
     * segments into one write. Positions are left as they were.
     *
     * @throws IOException the first failure; the other packets are still written
     */
    default void write(ByteBuffer[] packets, int count) throws IOException {
        IOException first = null;
        for (int i = 0; i < count; i++) {
            ByteBuffer b = packets[i];
            int p = b.position();
            try {
                write(b);
            } catch (IOException e) {
                if (first == null) first = e;
            } finally {
                b.position(p);
            }
        }
        if (first != null) throw first;
    }

    @Override
    void close();

    /** Whether packets already read from the kernel wait to be returned (a superpacket's remaining segments). */
    default boolean pending() {
        return false;
    }

    /** Closes this process's hold on the interface only, leaving it to a successor that holds it too. */
    default void release() {
        close();
    }
}
