package io.wiremesh.wireguard.net;

import com.kenai.jffi.MemoryIO;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The packet-info control messages of sticky sockets, in native memory (cmsg(3); x86_64/aarch64:
 * {@code struct cmsghdr} is a size_t length, an int level and an int type, data 8-aligned at +16).
 * Receiving: IP_PKTINFO ({@code struct in_pktinfo}: ifindex, spec_dst, addr; ip(7)) and IPV6_PKTINFO
 * ({@code struct in6_pktinfo}: addr, ifindex; RFC 3542 section 6.1) give the address a datagram was
 * sent to. Sending: the same structures name the source address (ifindex 0: routing picks the interface).
 */
final class ControlMessages {
    static final int IPPROTO_IP = 0, IPPROTO_IPV6 = 41, IP_PKTINFO = 8, IPV6_PKTINFO = 50;
    /** UDP generic segmentation offload (udp(7), Linux 4.18): a u16 segment size on sendmsg. */
    static final int SOL_UDP = 17, UDP_SEGMENT = 103;
    /** UDP generic receive offload (udp(7), Linux 5.0): one read may hold several datagrams of an int size. */
    static final int UDP_GRO = 104;
    /** The space {@link #writeSegmentSize} takes. */
    static final int SEGMENT_SPACE = 24;
    private static final int HEADER = 16;
    private static final MemoryIO IO = MemoryIO.getInstance();

    private ControlMessages() {}

    private static long align(long n) {
        return n + 7 & ~7L;
    }

    /**
     * Copies the destination address of a received datagram from its control messages
     * ({@code control}, {@code length} bytes as recvmsg left msg_controllen) to the 16 bytes at
     * {@code out}, IPv4 as v4-mapped. Returns 4 (IPv4), 16 (IPv6), or 0 when there is none.
     */
    static int destination(long control, long length, long out) {
        long off = 0;
        while (off + HEADER <= length) {
            long len = IO.getLong(control + off);
            if (len < HEADER || off + len > length) return 0;
            int level = IO.getInt(control + off + 8), type = IO.getInt(control + off + 12);
            long data = control + off + HEADER;
            if (level == IPPROTO_IP && type == IP_PKTINFO && len >= HEADER + 12) {
                IO.putLong(out, 0);
                IO.putInt(out + 8, 0xffff0000); // bytes 8..11 = 00 00 ff ff, little-endian int
                IO.putInt(out + 12, IO.getInt(data + 8)); // ipi_addr: the header's destination
                return 4;
            }
            if (level == IPPROTO_IPV6 && type == IPV6_PKTINFO && len >= HEADER + 20) {
                IO.copyMemory(data, out, 16);
                return 16;
            }
            off += align(len);
        }
        return 0;
    }

    /** The address {@link #destination} wrote at {@code out} (length 4 or 16). */
    static InetAddress address(long out, int length) throws UnknownHostException {
        byte[] b = new byte[length];
        IO.getByteArray(out + (length == 4 ? 12 : 0), b, 0, length);
        return InetAddress.getByAddress(b);
    }

    /**
     * Writes the control message that sends from {@code to}'s source (IP_PKTINFO for IPv4,
     * IPV6_PKTINFO for IPv6) at {@code control}; returns its space (msg_controllen).
     */
    static long writeSource(long control, Endpoint to) {
        if (to.sourceV4) {
            IO.putLong(control, HEADER + 12);
            IO.putInt(control + 8, IPPROTO_IP);
            IO.putInt(control + 12, IP_PKTINFO);
            IO.putInt(control + HEADER, 0); // ipi_ifindex
            IO.putByteArray(control + HEADER + 4, to.source16, 12, 4); // ipi_spec_dst: the source
            IO.putInt(control + HEADER + 8, 0); // ipi_addr: ignored when sending
            IO.putInt(control + HEADER + 12, 0);
            return align(HEADER + 12);
        }
        IO.putLong(control, HEADER + 20);
        IO.putInt(control + 8, IPPROTO_IPV6);
        IO.putInt(control + 12, IPV6_PKTINFO);
        IO.putByteArray(control + HEADER, to.source16, 0, 16);
        IO.putInt(control + HEADER + 16, 0); // ipi6_ifindex
        IO.putInt(control + HEADER + 20, 0);
        return align(HEADER + 20);
    }

    /**
     * Writes a UDP_SEGMENT control message at {@code control}: the kernel cuts the payload of this
     * sendmsg into datagrams of {@code size} bytes (the last may be shorter). Returns its space.
     */
    static long writeSegmentSize(long control, int size) {
        IO.putLong(control, HEADER + 2);
        IO.putInt(control + 8, SOL_UDP);
        IO.putInt(control + 12, UDP_SEGMENT);
        IO.putLong(control + HEADER, 0);
        IO.putShort(control + HEADER, (short) size);
        return SEGMENT_SPACE;
    }

    /**
     * The segment size of a coalesced read from its control messages ({@code control}, {@code length}
     * bytes as recvmsg left msg_controllen): the UDP_GRO value, or 0 when the read holds one datagram.
     */
    static int segmentSize(long control, long length) {
        long off = 0;
        while (off + HEADER <= length) {
            long len = IO.getLong(control + off);
            if (len < HEADER || off + len > length) return 0;
            if (IO.getInt(control + off + 8) == SOL_UDP && IO.getInt(control + off + 12) == UDP_GRO && len >= HEADER + 4) {
                return IO.getInt(control + off + HEADER);
            }
            off += align(len);
        }
        return 0;
    }
}
