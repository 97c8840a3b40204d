package io.wiremesh.wireguard.offload;

import java.nio.ByteBuffer;

/**
 * The 10-byte {@code struct virtio_net_hdr} that prefixes every read and write on a TUN device
 * opened with {@code IFF_VNET_HDR} (Linux include/uapi/linux/virtio_net.h; virtio 1.2 section
 * 5.1.6). Fields are in the host's byte order (little-endian on the architectures we run on):
 * flags (u8), gso_type (u8), hdr_len, gso_size, csum_start, csum_offset (u16 each).
 *
 * <p>Static accessors over a buffer and an index, so the hot path keeps no objects.
 */
public final class VirtioNetHeader {
    /** sizeof(struct virtio_net_hdr). */
    public static final int LENGTH = 10;
    /** flags: the checksum from csum_start is partial (the field at csum_start + csum_offset holds the pseudo-header sum). */
    public static final int F_NEEDS_CSUM = 1;
    /** flags: the checksum was already verified. */
    public static final int F_DATA_VALID = 2;
    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_UDP_L4 = 5;
    /** gso_type bit: the TCP superpacket carries ECN CWR (set only on the first segment when split). */
    public static final int GSO_ECN = 0x80;

    private VirtioNetHeader() {}

    public static int flags(ByteBuffer b, int at) {
        return b.get(at) & 0xff;
    }

    public static int gsoType(ByteBuffer b, int at) {
        return b.get(at + 1) & 0xff;
    }

    public static int hdrLen(ByteBuffer b, int at) {
        return u16(b, at + 2);
    }

    public static int gsoSize(ByteBuffer b, int at) {
        return u16(b, at + 4);
    }

    public static int csumStart(ByteBuffer b, int at) {
        return u16(b, at + 6);
    }

    public static int csumOffset(ByteBuffer b, int at) {
        return u16(b, at + 8);
    }

    /** Writes a header at {@code at}. */
    public static void write(ByteBuffer b, int at, int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        b.put(at, (byte) flags);
        b.put(at + 1, (byte) gsoType);
        put16(b, at + 2, hdrLen);
        put16(b, at + 4, gsoSize);
        put16(b, at + 6, csumStart);
        put16(b, at + 8, csumOffset);
    }

    /** Writes the all-zero header: one plain packet with a complete checksum. */
    public static void writeNone(ByteBuffer b, int at) {
        b.putLong(at, 0);
        b.putShort(at + 8, (short) 0);
    }

    private static int u16(ByteBuffer b, int i) {
        return b.get(i) & 0xff | (b.get(i + 1) & 0xff) << 8;
    }

    private static void put16(ByteBuffer b, int i, int v) {
        b.put(i, (byte) v);
        b.put(i + 1, (byte) (v >>> 8));
    }
}
