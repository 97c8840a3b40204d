package io.wiremesh.wireguard.offload;

import static io.wiremesh.wireguard.offload.Checksum.getInt;
import static io.wiremesh.wireguard.offload.Checksum.getShort;
import static io.wiremesh.wireguard.offload.Checksum.putShort;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Generic receive offload done in software, for writes to a TUN device with {@code IFF_VNET_HDR}:
 * consecutive in-order TCP segments of one flow in a batch become one superpacket that the kernel
 * takes in one write, told by a {@link VirtioNetHeader} (GSO_TCPV4/6, gso_size, partial checksum)
 * what it holds. The rules follow the kernel's TCP GRO (net/ipv4/tcp_offload.c,
 * tools/testing/selftests/net/gro.c): only ACK or ACK|PSH segments with payload, no IPv4 options or
 * fragments and no IPv6 extension headers; equal addresses, ports, ACK number, TCP options, TOS /
 * traffic class, TTL / hop limit and DF; the next segment starts where the last ended; no segment
 * larger than the first; a shorter segment or PSH ends the superpacket. Segments are not
 * checksum-verified before merging (the merged packet's checksum is left to the kernel): each one was
 * authenticated by the transport AEAD, which is why the kernel's own WireGuard marks decrypted packets
 * CHECKSUM_UNNECESSARY, and a wrong checksum could only come from the sending peer's stack, for
 * its own flow.
 *
 * <p>Not thread-safe: one writer uses one instance. No allocation after construction: a fixed set
 * of 64 KiB superpacket buffers; when they are all in use, further segments are written as they are.
 */
public final class TcpCoalescer {
    /** Where {@link #write} hands each packet: the buffer's position is the virtio-net header, the limit the packet's end. */
    public interface Sink {
        void write(ByteBuffer packet) throws IOException;

        /**
         * A superpacket was refused with {@code e} while its segments, written one by one instead, went through (a kernel
         * whose TUN rejects this GSO write; tailscale#13041): this coalescer merges nothing from now on.
         */
        default void refused(IOException e) {}
    }

    /** False once a superpacket was refused: every packet is written alone from then on. */
    private volatile boolean merging = true;

    private static final int TCP = 6;
    private static final int ACK = 0x10, PSH = 0x08;
    private static final int MAX_IP = 65535;
    private static final int ALONE = 0, MERGED = 1, HEAD = 2;

    private final ByteBuffer[] buffers;
    private final boolean[] bufferBusy;
    // Per item (a flow's open superpacket); items are indexed in the order their head arrived.
    private final int[] head, buffer, ipLen, tcpLen, gsoSize, nextSeq, length, merged;
    private final boolean[] v6, ended;
    // Per packet of the batch.
    private final int[] role, itemOf;
    private int items;

    /**
     * @param batch the most packets one {@link #write} call takes
     * @param superpackets how many 64 KiB buffers to keep for merged packets (each costs 64 KiB)
     */
    public TcpCoalescer(int batch, int superpackets) {
        buffers = new ByteBuffer[superpackets];
        bufferBusy = new boolean[superpackets];
        for (int i = 0; i < superpackets; i++) buffers[i] = ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH + MAX_IP);
        head = new int[batch];
        buffer = new int[batch];
        ipLen = new int[batch];
        tcpLen = new int[batch];
        gsoSize = new int[batch];
        nextSeq = new int[batch];
        length = new int[batch];
        merged = new int[batch];
        v6 = new boolean[batch];
        ended = new boolean[batch];
        role = new int[batch];
        itemOf = new int[batch];
    }

    /** The most packets one {@link #write} call takes. */
    public int batch() {
        return role.length;
    }

    /**
     * Writes {@code packets[0..count)} (each a plain IP packet from position to limit, with at least
     * {@link VirtioNetHeader#LENGTH} writable bytes before the position) to {@code sink}, merging
     * what can be merged; order within a flow is kept. Buffers of merged packets are left as they
     * were; a packet written alone gets an all-zero header in front of it (its position is restored).
     *
     * @throws IOException the first failure of the sink; the remaining packets are still offered
     */
    public void write(ByteBuffer[] packets, int count, Sink sink) throws IOException {
        write(packets, 0, count, sink);
    }

    /** As {@link #write(ByteBuffer[], int, Sink)} for {@code packets[from..from + count)}. */
    public void write(ByteBuffer[] packets, int from, int count, Sink sink) throws IOException {
        if (count > role.length) throw new IllegalArgumentException("batch of " + count + " > " + role.length);
        items = 0;
        for (int i = 0; i < count; i++) classify(packets, from, i);
        IOException first = null;
        for (int i = 0; i < count; i++) {
            if (role[i] == MERGED) continue;
            if (role[i] == HEAD && merged[itemOf[i]] > 0) {
                try {
                    sink.write(finish(itemOf[i]));
                } catch (IOException refused) {
                    // Its segments are intact in their own buffers: written one by one, in order, none lost. Only when
                    // they go through was it the superpacket that was refused (not a link that is down, or memory).
                    IOException alone = null;
                    for (int j = i; j < count; j++) {
                        if (role[j] != ALONE && itemOf[j] == itemOf[i]) alone = alone(packets[from + j], sink, alone);
                    }
                    if (alone == null) {
                        merging = false;
                        sink.refused(refused);
                    } else if (first == null) {
                        first = alone;
                    }
                }
            } else {
                first = alone(packets[from + i], sink, first);
            }
        }
        for (int b = 0; b < bufferBusy.length; b++) bufferBusy[b] = false;
        if (first != null) throw first;
    }

    /** Whether packets are still merged (false once the sink refused a superpacket). */
    public boolean merging() {
        return merging;
    }

    /** Writes {@code p} behind an all-zero header (its position restored); returns the first failure so far. */
    private static IOException alone(ByteBuffer p, Sink sink, IOException first) {
        int pos = p.position();
        VirtioNetHeader.writeNone(p, pos - VirtioNetHeader.LENGTH);
        p.position(pos - VirtioNetHeader.LENGTH);
        try {
            sink.write(p);
        } catch (IOException e) {
            if (first == null) first = e;
        } finally {
            p.position(pos);
        }
        return first;
    }

    private void classify(ByteBuffer[] packets, int from, int i) {
        role[i] = ALONE;
        if (!merging) return;
        ByteBuffer p = packets[from + i];
        int o = p.position();
        int len = p.limit() - o;
        if (len < 40) return;
        int version = (p.get(o) >> 4) & 0xf;
        boolean six;
        int ip;
        if (version == 4) {
            six = false;
            ip = 20;
            if ((p.get(o) & 0xf) != 5 || (p.get(o + 9) & 0xff) != TCP || getShort(p, o + 2) != len) return;
            if ((getShort(p, o + 6) & 0x3fff) != 0) return; // MF or a fragment offset
        } else if (version == 6) {
            six = true;
            ip = 40;
            if (len < 60 || (p.get(o + 6) & 0xff) != TCP || getShort(p, o + 4) != len - 40) return;
        } else {
            return;
        }
        int tcp = ((p.get(o + ip + 12) >> 4) & 0xf) * 4;
        if (tcp < 20 || ip + tcp > len) return;
        int flags = p.get(o + ip + 13) & 0xff;
        if (ip + tcp == len || (flags != ACK && flags != (ACK | PSH))) {
            // Written alone (a pure ACK or window update, SYN, FIN, RST...): nothing of its connection may
            // be merged past it, or the write order would put later data before it.
            endConnection(packets, from, p, six);
            return;
        }
        int payload = len - ip - tcp;
        int seq = getInt(p, o + ip + 4);

        for (int k = items - 1; k >= 0; k--) {
            ByteBuffer h = packets[from + head[k]];
            if (v6[k] != six || !sameFlow(h, p, six, ip)) continue;
            if (canAppend(k, h, p, ip, tcp, seq, payload) && append(k, h, p, ip, tcp, payload, flags)) {
                role[i] = MERGED;
                itemOf[i] = k;
                return;
            }
            break; // only the flow's newest superpacket may grow
        }
        int k = items++;
        head[k] = i;
        buffer[k] = -1;
        ipLen[k] = ip;
        tcpLen[k] = tcp;
        gsoSize[k] = payload;
        nextSeq[k] = seq + payload;
        length[k] = len;
        merged[k] = 0;
        v6[k] = six;
        ended[k] = (flags & PSH) != 0;
        role[i] = HEAD;
        itemOf[i] = k;
    }

    /** Ends the newest superpacket of {@code p}'s connection (same addresses and ports, any ACK). */
    private void endConnection(ByteBuffer[] packets, int from, ByteBuffer p, boolean six) {
        int ip = six ? 40 : 20;
        for (int k = items - 1; k >= 0; k--) {
            ByteBuffer h = packets[from + head[k]];
            if (v6[k] != six || !sameAddressesAndPorts(h, p, six, ip)) continue;
            ended[k] = true;
            return;
        }
    }

    private static boolean sameAddressesAndPorts(ByteBuffer a, ByteBuffer b, boolean six, int ip) {
        int oa = a.position(), ob = b.position();
        int addr = six ? 8 : 12, n = six ? 32 : 8;
        for (int j = 0; j < n; j += 4) if (a.getInt(oa + addr + j) != b.getInt(ob + addr + j)) return false;
        return a.getInt(oa + ip) == b.getInt(ob + ip);
    }

    /** Same addresses, ports and acknowledgement number (a different ACK is another flow for GRO). */
    private static boolean sameFlow(ByteBuffer a, ByteBuffer b, boolean six, int ip) {
        return sameAddressesAndPorts(a, b, six, ip) && a.getInt(a.position() + ip + 8) == b.getInt(b.position() + ip + 8);
    }

    private boolean canAppend(int k, ByteBuffer h, ByteBuffer p, int ip, int tcp, int seq, int payload) {
        if (ended[k] || tcp != tcpLen[k] || ip != ipLen[k] || seq != nextSeq[k] || payload > gsoSize[k]) return false;
        if (length[k] + payload > MAX_IP) return false;
        // Only the last segment may be shorter: once one was, nothing follows.
        if ((length[k] - ip - tcp) % gsoSize[k] != 0) return false;
        int oh = h.position(), op = p.position();
        for (int j = 20; j < tcp; j++) if (h.get(oh + ip + j) != p.get(op + ip + j)) return false; // options
        if (v6[k]) {
            // traffic class and hop limit
            return h.get(oh) == p.get(op) && ((h.get(oh + 1) ^ p.get(op + 1)) & 0xf0) == 0 && h.get(oh + 7) == p.get(op + 7);
        }
        // TOS, DF (and the reserved bit), TTL
        return h.get(oh + 1) == p.get(op + 1) && ((h.get(oh + 6) ^ p.get(op + 6)) & 0xe0) == 0 && h.get(oh + 8) == p.get(op + 8);
    }

    private boolean append(int k, ByteBuffer h, ByteBuffer p, int ip, int tcp, int payload, int flags) {
        if (buffer[k] < 0) {
            int b = freeBuffer();
            if (b < 0) return false;
            int hl = h.limit() - h.position();
            bufferBusy[b] = true;
            buffer[k] = b;
            buffers[b].clear().put(VirtioNetHeader.LENGTH, h, h.position(), hl);
        }
        ByteBuffer out = buffers[buffer[k]];
        out.put(VirtioNetHeader.LENGTH + length[k], p, p.position() + ip + tcp, payload);
        length[k] += payload;
        nextSeq[k] += payload;
        merged[k]++;
        if ((flags & PSH) != 0) {
            ended[k] = true;
            int f = VirtioNetHeader.LENGTH + ip + 13;
            out.put(f, (byte) (out.get(f) | PSH));
        }
        return true;
    }

    private int freeBuffer() {
        for (int b = 0; b < bufferBusy.length; b++) if (!bufferBusy[b]) return b;
        return -1;
    }

    /** Lengths, IPv4 header checksum, the partial TCP checksum and the virtio-net header of item {@code k}. */
    private ByteBuffer finish(int k) {
        ByteBuffer out = buffers[buffer[k]];
        int o = VirtioNetHeader.LENGTH;
        int len = length[k], ip = ipLen[k];
        boolean six = v6[k];
        if (six) {
            putShort(out, o + 4, len - 40);
        } else {
            putShort(out, o + 2, len);
            Checksum.setIpv4Header(out, o, ip);
        }
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel adds the rest.
        putShort(out, o + ip + 16, Checksum.fold(Checksum.pseudoHeader(out, o, six, TCP, len - ip)));
        VirtioNetHeader.write(out, 0, VirtioNetHeader.F_NEEDS_CSUM,
                six ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4, ip + tcpLen[k], gsoSize[k], ip, 16);
        out.limit(o + len).position(0);
        return out;
    }
}
