package io.wiremesh.wireguard.offload;

import static io.wiremesh.wireguard.offload.Checksum.getInt;
import static io.wiremesh.wireguard.offload.Checksum.getShort;
import static io.wiremesh.wireguard.offload.Checksum.putInt;
import static io.wiremesh.wireguard.offload.Checksum.putShort;

import java.nio.ByteBuffer;

/**
 * Generic segmentation offload done in software: turns what one read from a TUN device with
 * {@code IFF_VNET_HDR} returned (a {@link VirtioNetHeader} and a packet that may be a TCP
 * "superpacket" of up to 64 KiB) into ordinary IP packets no larger than the sender's MSS, as the
 * kernel's tcp_gso_segment would: per segment the IPv4 total length, identification (+1 per
 * segment) and header checksum, or the IPv6 payload length; the TCP sequence number advanced by the
 * bytes before it; FIN and PSH only on the last segment, CWR only on the first; and a complete TCP
 * checksum (RFC 9293 section 3.1). A packet without GSO whose checksum the kernel left partial
 * ({@link VirtioNetHeader#F_NEEDS_CSUM}) gets its checksum completed.
 *
 * <p>Pure: no I/O, no allocation; copies bytes from the read buffer into the caller's buffers.
 */
public final class TcpSegmentation {
    /** {@link #split} result: the header or packet is inconsistent (drop it). */
    public static final int MALFORMED = -1;

    private static final int TCP = 6;
    private static final int FIN = 0x01, PSH = 0x08, CWR = 0x80;

    private TcpSegmentation() {}

    /**
     * Splits the read at {@code in[at, at + length)} — a virtio-net header followed by the packet —
     * into {@code outs[0..n)}, starting with segment {@code first} (0 for a fresh read; a superpacket
     * with more segments than buffers is split over several calls). Each output buffer is offered
     * from its position to its limit; on return it holds one packet from that same position, with
     * the limit at its end.
     *
     * @param count how many of {@code outs} may be used
     * @return n (at least 1), or {@link #MALFORMED}; segments remain when {@code first + n <} {@link #segments}
     */
    public static int split(ByteBuffer in, int at, int length, ByteBuffer[] outs, int count, int first) {
        if (length <= VirtioNetHeader.LENGTH || count < 1) return MALFORMED;
        int pkt = at + VirtioNetHeader.LENGTH;
        int pktLen = length - VirtioNetHeader.LENGTH;
        int flags = VirtioNetHeader.flags(in, at);
        int gsoType = VirtioNetHeader.gsoType(in, at) & ~VirtioNetHeader.GSO_ECN;
        int csumStart = VirtioNetHeader.csumStart(in, at);
        int csumOffset = VirtioNetHeader.csumOffset(in, at);
        if (gsoType == VirtioNetHeader.GSO_NONE) {
            ByteBuffer out = outs[0];
            int o = out.position();
            if (pktLen > out.limit() - o) return MALFORMED;
            copy(in, pkt, out, o, pktLen);
            out.limit(o + pktLen);
            if ((flags & VirtioNetHeader.F_NEEDS_CSUM) != 0) {
                if (csumStart + csumOffset + 2 > pktLen) return MALFORMED;
                // The field holds the pseudo-header sum; the rest is summed over csum_start..end.
                int field = o + csumStart + csumOffset;
                long initial = getShort(out, field);
                putShort(out, field, 0);
                int c = Checksum.complement(Checksum.sum(out, o + csumStart, pktLen - csumStart, initial));
                // As the kernel does: 0 would mean "no checksum" to UDP (and is refused over IPv6); 0xffff is the same sum.
                putShort(out, field, c == 0 ? 0xffff : c);
            }
            return 1;
        }
        boolean v6;
        if (gsoType == VirtioNetHeader.GSO_TCPV4) v6 = false;
        else if (gsoType == VirtioNetHeader.GSO_TCPV6) v6 = true;
        else return MALFORMED; // UDP fragmentation/segmentation offloads are never enabled on our TUN

        int version = (in.get(pkt) >> 4) & 0xf;
        if (version != (v6 ? 6 : 4) || (flags & VirtioNetHeader.F_NEEDS_CSUM) == 0) return MALFORMED;
        int ipLen = v6 ? 40 : (in.get(pkt) & 0xf) * 4;
        // csum_start is where TCP begins (after any IPv4 options or IPv6 extension headers).
        int tcp = csumStart;
        if (ipLen < 20 || tcp < ipLen || csumOffset != 16 || tcp + 20 > pktLen) return MALFORMED;
        if (!v6 && (in.get(pkt + 9) & 0xff) != TCP) return MALFORMED;
        int tcpLen = ((in.get(pkt + tcp + 12) >> 4) & 0xf) * 4;
        int headers = tcp + tcpLen;
        int gsoSize = VirtioNetHeader.gsoSize(in, at);
        int payload = pktLen - headers;
        if (tcpLen < 20 || headers > pktLen || gsoSize == 0) return MALFORMED;
        int segments = payload <= 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
        if (first >= segments) return MALFORMED;
        int last = Math.min(segments, first + count);

        int seq = getInt(in, pkt + tcp + 4);
        int id = v6 ? 0 : getShort(in, pkt + 4);
        int tcpFlags = in.get(pkt + tcp + 13) & 0xff;
        int done = first * gsoSize;
        for (int i = first; i < last; i++) {
            int size = Math.min(gsoSize, payload - done);
            if (size < 0) size = 0;
            ByteBuffer out = outs[i - first];
            int o = out.position();
            int total = headers + size;
            if (total > out.limit() - o) return MALFORMED;
            copy(in, pkt, out, o, headers);
            copy(in, pkt + headers + done, out, o + headers, size);
            out.limit(o + total);
            if (v6) {
                putShort(out, o + 4, total - 40);
            } else {
                putShort(out, o + 2, total);
                putShort(out, o + 4, id + i);
                Checksum.setIpv4Header(out, o, ipLen);
            }
            putInt(out, o + tcp + 4, seq + done);
            int f = tcpFlags;
            if (i != segments - 1) f &= ~(FIN | PSH);
            if (i != 0) f &= ~CWR;
            out.put(o + tcp + 13, (byte) f);
            putShort(out, o + tcp + 16, 0);
            long sum = Checksum.pseudoHeader(out, o, v6, TCP, total - tcp);
            putShort(out, o + tcp + 16, Checksum.complement(Checksum.sum(out, o + tcp, total - tcp, sum)));
            done += size;
        }
        return last - first;
    }

    /** How many packets {@link #split} makes of the read at {@code in[at, at + length)} (1 without GSO; 0 if malformed). */
    public static int segments(ByteBuffer in, int at, int length) {
        if (length <= VirtioNetHeader.LENGTH) return 0;
        int type = VirtioNetHeader.gsoType(in, at) & ~VirtioNetHeader.GSO_ECN;
        if (type == VirtioNetHeader.GSO_NONE) return 1;
        int pkt = at + VirtioNetHeader.LENGTH;
        int tcp = VirtioNetHeader.csumStart(in, at);
        int gsoSize = VirtioNetHeader.gsoSize(in, at);
        if (gsoSize == 0 || tcp + 20 > length - VirtioNetHeader.LENGTH) return 0;
        int payload = length - VirtioNetHeader.LENGTH - tcp - ((in.get(pkt + tcp + 12) >> 4) & 0xf) * 4;
        return payload <= 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
    }

    /** Copies {@code n} bytes; bulk copy between buffers without moving either's position. */
    static void copy(ByteBuffer from, int fromIndex, ByteBuffer to, int toIndex, int n) {
        to.put(toIndex, from, fromIndex, n);
    }
}
