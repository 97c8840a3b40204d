package io.wiremesh.wireguard.offload;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Software GSO and GRO on hand-built TCP/IP packets, checked against a plain byte-wise reference
 * checksum (RFC 1071) and against each other: splitting what the coalescer made gives back the
 * segments it was made of.
 */
class OffloadTest {
    static final int HEADROOM = 16;
    final Random random = new Random(7);

    // ------------------------------------------------------------------ reference

    /** RFC 1071, one byte pair at a time. */
    static int referenceSum(byte[] data, int from, int to, long initial) {
        long s = initial;
        for (int i = from; i < to; i += 2) s += (data[i] & 0xff) << 8 | (i + 1 < to ? data[i + 1] & 0xff : 0);
        while (s >> 16 != 0) s = (s & 0xffff) + (s >> 16);
        return (int) s;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.limit() - b.position()];
        b.get(b.position(), out);
        return out;
    }

    static long pseudo(byte[] p, boolean v6, int l4) {
        long s = v6 ? referenceSum(p, 8, 40, 0) : referenceSum(p, 12, 20, 0);
        return s + 6 + l4;
    }

    static boolean tcpChecksumOk(byte[] p) {
        boolean v6 = (p[0] >> 4) == 6;
        int ip = v6 ? 40 : (p[0] & 0xf) * 4;
        return referenceSum(p, ip, p.length, pseudo(p, v6, p.length - ip)) == 0xffff;
    }

    static boolean ipv4ChecksumOk(byte[] p) {
        return referenceSum(p, 0, (p[0] & 0xf) * 4, 0) == 0xffff;
    }

    static int u16(byte[] p, int i) {
        return (p[i] & 0xff) << 8 | p[i + 1] & 0xff;
    }

    static int u32(byte[] p, int i) {
        return u16(p, i) << 16 | u16(p, i + 2);
    }

    // ------------------------------------------------------------------ packet building

    /** An IPv4 or IPv6 TCP packet with correct checksums (timestamps option: 12 bytes). */
    byte[] tcpPacket(boolean v6, int srcPort, int seq, int ack, int flags, byte[] payload) {
        int ip = v6 ? 40 : 20, tcp = 32;
        byte[] p = new byte[ip + tcp + payload.length];
        if (v6) {
            p[0] = 0x60;
            p[4] = (byte) ((tcp + payload.length) >> 8);
            p[5] = (byte) (tcp + payload.length);
            p[6] = 6;
            p[7] = 64;
            p[8] = (byte) 0xfd; p[23] = 1; // fd00::1
            p[24] = (byte) 0xfd; p[39] = 2; // fd00::2
        } else {
            p[0] = 0x45;
            p[2] = (byte) (p.length >> 8);
            p[3] = (byte) p.length;
            p[4] = 0x12; p[5] = 0x34;
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = 6;
            p[12] = 10; p[13] = 1; p[15] = 1;
            p[16] = 10; p[17] = 1; p[19] = 2;
        }
        p[ip] = (byte) (srcPort >> 8); p[ip + 1] = (byte) srcPort;
        p[ip + 2] = 0x14; p[ip + 3] = 0x51; // 5201
        for (int i = 0; i < 4; i++) p[ip + 4 + i] = (byte) (seq >>> (24 - 8 * i));
        for (int i = 0; i < 4; i++) p[ip + 8 + i] = (byte) (ack >>> (24 - 8 * i));
        p[ip + 12] = (byte) ((tcp / 4) << 4);
        p[ip + 13] = (byte) flags;
        p[ip + 14] = (byte) 0xfa;
        p[ip + 20] = 1; p[ip + 21] = 1; p[ip + 22] = 8; p[ip + 23] = 10; // NOP NOP TS
        p[ip + 27] = 42;
        System.arraycopy(payload, 0, p, ip + tcp, payload.length);
        if (!v6) {
            int c = ~referenceSum(p, 0, 20, 0) & 0xffff;
            p[10] = (byte) (c >> 8); p[11] = (byte) c;
        }
        int c = ~referenceSum(p, ip, p.length, pseudo(p, v6, p.length - ip)) & 0xffff;
        p[ip + 16] = (byte) (c >> 8); p[ip + 17] = (byte) c;
        return p;
    }

    /** What a TUN read returns for a superpacket: header, then the packet with the pseudo-header sum as its TCP checksum. */
    ByteBuffer superpacketRead(boolean v6, int gsoSize, int flags, byte[] payload) {
        byte[] p = tcpPacket(v6, 40000, 1000, 77, flags, payload);
        int ip = v6 ? 40 : 20;
        int partial = referenceSum(new byte[0], 0, 0, pseudo(p, v6, p.length - ip));
        p[ip + 16] = (byte) (partial >> 8); p[ip + 17] = (byte) partial;
        ByteBuffer b = ByteBuffer.allocateDirect(70_000);
        VirtioNetHeader.write(b, 0, VirtioNetHeader.F_NEEDS_CSUM, v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4,
                ip + 32, gsoSize, ip, 16);
        b.put(VirtioNetHeader.LENGTH, p);
        b.limit(VirtioNetHeader.LENGTH + p.length);
        return b;
    }

    static ByteBuffer[] outs(int n, int capacity) {
        ByteBuffer[] o = new ByteBuffer[n];
        for (int i = 0; i < n; i++) o[i] = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        return o;
    }

    static void offer(ByteBuffer[] o) {
        for (ByteBuffer b : o) b.limit(b.capacity() - 32).position(HEADROOM);
    }

    byte[] payload(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    // ------------------------------------------------------------------ checksum

    @Test
    void checksumMatchesRfc1071Example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        byte[] d = {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7};
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            ByteBuffer b = ByteBuffer.wrap(d).order(order);
            assertThat(Checksum.fold(Checksum.sum(b, 0, 8, 0))).isEqualTo(0xddf2);
        }
        for (int n = 0; n < 300; n++) {
            byte[] r = payload(n);
            ByteBuffer b = ByteBuffer.allocateDirect(n + 3).order(n % 2 == 0 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
            b.put(3, r);
            assertThat(Checksum.fold(Checksum.sum(b, 3, n, 5))).as("length %d", n).isEqualTo(referenceSum(r, 0, n, 5));
        }
    }

    // ------------------------------------------------------------------ segmentation

    @Test
    void splitsATcpSuperpacketLikeTheKernel() {
        for (boolean v6 : new boolean[] {false, true}) {
            byte[] data = payload(3_500);
            ByteBuffer read = superpacketRead(v6, 1_000, 0x10 | 0x08 | 0x01 | 0x80, data); // ACK PSH FIN CWR
            ByteBuffer[] o = outs(8, 2048);
            offer(o);
            int n = TcpSegmentation.split(read, 0, read.limit(), o, o.length, 0);
            assertThat(n).isEqualTo(4);
            int ip = v6 ? 40 : 20;
            for (int i = 0; i < n; i++) {
                assertThat(o[i].position()).isEqualTo(HEADROOM);
                byte[] s = bytes(o[i]);
                int size = i < 3 ? 1_000 : 500;
                assertThat(s.length).isEqualTo(ip + 32 + size);
                if (v6) {
                    assertThat(u16(s, 4)).isEqualTo(32 + size);
                } else {
                    assertThat(u16(s, 2)).isEqualTo(s.length);
                    assertThat(u16(s, 4)).isEqualTo(0x1234 + i);
                    assertThat(ipv4ChecksumOk(s)).isTrue();
                }
                assertThat(u32(s, ip + 4)).isEqualTo(1000 + 1_000 * i);
                int flags = s[ip + 13] & 0xff;
                assertThat(flags & 0x01).as("FIN on the last only").isEqualTo(i == 3 ? 1 : 0);
                assertThat(flags & 0x08).as("PSH on the last only").isEqualTo(i == 3 ? 8 : 0);
                assertThat(flags & 0x80).as("CWR on the first only").isEqualTo(i == 0 ? 0x80 : 0);
                assertThat(tcpChecksumOk(s)).isTrue();
                byte[] chunk = new byte[size];
                System.arraycopy(s, ip + 32, chunk, 0, size);
                byte[] expected = new byte[size];
                System.arraycopy(data, 1_000 * i, expected, 0, size);
                assertThat(chunk).isEqualTo(expected);
            }
        }
    }

    @Test
    void splitsOverSeveralCallsWhenBuffersRunOut() {
        ByteBuffer read = superpacketRead(false, 100, 0x18, payload(1_050));
        assertThat(TcpSegmentation.segments(read, 0, read.limit())).isEqualTo(11);
        ByteBuffer[] all = outs(11, 2048);
        offer(all);
        assertThat(TcpSegmentation.split(read, 0, read.limit(), all, 11, 0)).isEqualTo(11);
        List<byte[]> parts = new ArrayList<>();
        for (int first = 0; first < 11; first += 4) {
            ByteBuffer[] o = outs(4, 2048);
            offer(o);
            int n = TcpSegmentation.split(read, 0, read.limit(), o, 4, first);
            assertThat(n).isEqualTo(Math.min(4, 11 - first));
            for (int i = 0; i < n; i++) parts.add(bytes(o[i]));
        }
        for (int i = 0; i < 11; i++) assertThat(parts.get(i)).as("segment %d", i).isEqualTo(bytes(all[i]));
    }

    @Test
    void refusesWhatItCannotSplit() {
        ByteBuffer read = superpacketRead(false, 100, 0x10, payload(1_000));
        ByteBuffer[] o = outs(4, 2048);
        offer(o);
        read.put(1, (byte) VirtioNetHeader.GSO_UDP_L4);
        assertThat(TcpSegmentation.split(read, 0, read.limit(), o, 4, 0)).isEqualTo(TcpSegmentation.MALFORMED);
        read.put(1, (byte) VirtioNetHeader.GSO_TCPV6); // an IPv4 packet labelled IPv6
        assertThat(TcpSegmentation.split(read, 0, read.limit(), o, 4, 0)).isEqualTo(TcpSegmentation.MALFORMED);
        read.put(1, (byte) VirtioNetHeader.GSO_TCPV4);
        assertThat(TcpSegmentation.split(read, 0, read.limit(), o, 4, 10)).as("past the last segment").isEqualTo(TcpSegmentation.MALFORMED);
        ByteBuffer truncated = superpacketRead(false, 100, 0x10, payload(0));
        assertThat(TcpSegmentation.split(truncated, 0, VirtioNetHeader.LENGTH + 30, o, 4, 0)).isEqualTo(TcpSegmentation.MALFORMED);
    }

    @Test
    void completesAPartialChecksumWithoutSegmenting() {
        byte[] p = tcpPacket(false, 1, 5, 6, 0x18, payload(301));
        int good = u16(p, 36);
        int partial = referenceSum(new byte[0], 0, 0, pseudo(p, false, p.length - 20));
        p[36] = (byte) (partial >> 8); p[37] = (byte) partial;
        ByteBuffer read = ByteBuffer.allocateDirect(2048);
        VirtioNetHeader.write(read, 0, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_NONE, 0, 0, 20, 16);
        read.put(VirtioNetHeader.LENGTH, p);
        ByteBuffer[] o = outs(1, 2048);
        offer(o);
        assertThat(TcpSegmentation.split(read, 0, VirtioNetHeader.LENGTH + p.length, o, 1, 0)).isEqualTo(1);
        byte[] s = bytes(o[0]);
        assertThat(u16(s, 36)).isEqualTo(good);
        assertThat(tcpChecksumOk(s)).isTrue();
    }

    // ------------------------------------------------------------------ coalescing

    /** Records what the coalescer writes: a copy of each write, header included. */
    static final class Recorder implements TcpCoalescer.Sink {
        final List<byte[]> writes = new ArrayList<>();

        @Override
        public void write(ByteBuffer packet) {
            writes.add(bytes(packet));
        }
    }

    ByteBuffer[] load(List<byte[]> packets) {
        ByteBuffer[] o = outs(packets.size(), 2048);
        for (int i = 0; i < packets.size(); i++) {
            o[i].put(HEADROOM, packets.get(i));
            o[i].limit(HEADROOM + packets.get(i).length).position(HEADROOM);
        }
        return o;
    }

    List<byte[]> segments(boolean v6, int port, int seq, int size, int count, int lastFlags) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            l.add(tcpPacket(v6, port, seq + i * size, 9, i == count - 1 ? lastFlags : 0x10, payload(size)));
        }
        return l;
    }

    @Test
    void coalescedSuperpacketSplitsBackIntoItsSegments() throws IOException {
        for (boolean v6 : new boolean[] {false, true}) {
            List<byte[]> segs = segments(v6, 40000, 1, 1_380, 40, 0x18);
            Recorder r = new Recorder();
            new TcpCoalescer(64, 2).write(load(segs), segs.size(), r);
            assertThat(r.writes).hasSize(1);
            byte[] w = r.writes.get(0);
            assertThat(w[1] & 0xff).isEqualTo(v6 ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_TCPV4);
            ByteBuffer read = ByteBuffer.allocateDirect(w.length);
            read.put(0, w);
            assertThat(VirtioNetHeader.gsoSize(read, 0)).isEqualTo(1_380);
            ByteBuffer[] o = outs(64, 2048);
            offer(o);
            int n = TcpSegmentation.split(read, 0, w.length, o, 64, 0);
            assertThat(n).isEqualTo(40);
            for (int i = 0; i < n; i++) {
                byte[] s = bytes(o[i]);
                byte[] expected = segs.get(i).clone();
                if (!v6) {
                    // GSO numbers the IPv4 ids from the first segment; everything else is as sent.
                    int id = 0x1234 + i;
                    expected[4] = (byte) (id >> 8); expected[5] = (byte) id;
                    expected[10] = 0; expected[11] = 0;
                    int c = ~referenceSum(expected, 0, 20, 0) & 0xffff;
                    expected[10] = (byte) (c >> 8); expected[11] = (byte) c;
                }
                assertThat(s).as("segment %d", i).isEqualTo(expected);
            }
        }
    }

    /**
     * A TUN that refuses superpackets (as some kernels do for a GSO write; tailscale#13041): every segment still
     * arrives, once, in order, each as it was sent; nothing is merged after the first refusal.
     */
    @Test
    void aRefusedSuperpacketIsWrittenAsItsSegmentsAndMergingStops() throws IOException {
        List<byte[]> a = segments(false, 1000, 1, 1_000, 5, 0x18);
        List<byte[]> b = segments(true, 2000, 1, 1_000, 3, 0x10);
        List<byte[]> batch = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            batch.add(a.get(i));
            if (i < 3) batch.add(b.get(i));
        }
        List<IOException> told = new ArrayList<>();
        Recorder plain = new Recorder();
        TcpCoalescer.Sink refusing = new TcpCoalescer.Sink() {
            @Override
            public void write(ByteBuffer packet) throws IOException {
                if (packet.get(packet.position() + 1) != VirtioNetHeader.GSO_NONE) throw new IOException("write wm0: Invalid argument");
                plain.write(packet);
            }

            @Override
            public void refused(IOException e) {
                told.add(e);
            }
        };
        TcpCoalescer c = new TcpCoalescer(64, 4);
        c.write(load(batch), batch.size(), refusing);
        assertThat(told).as("each superpacket built before the first refusal, one per flow").hasSize(2);
        assertThat(c.merging()).isFalse();
        List<byte[]> flowA = new ArrayList<>(), flowB = new ArrayList<>();
        for (byte[] w : plain.writes) {
            byte[] packet = java.util.Arrays.copyOfRange(w, VirtioNetHeader.LENGTH, w.length);
            ((packet[0] >> 4) == 6 ? flowB : flowA).add(packet);
        }
        assertThat(flowA).as("every segment, in order, as sent").containsExactlyElementsOf(a);
        assertThat(flowB).containsExactlyElementsOf(b);

        plain.writes.clear();
        c.write(load(a), a.size(), refusing);
        assertThat(plain.writes).as("nothing merged any more").hasSize(5);
        assertThat(told).hasSize(2);
    }

    @Test
    void keepsFlowsApartAndOrderWithinEach() throws IOException {
        List<byte[]> a = segments(false, 1000, 1, 1_000, 3, 0x10);
        List<byte[]> b = segments(false, 2000, 1, 1_000, 3, 0x10);
        List<byte[]> batch = List.of(a.get(0), b.get(0), a.get(1), b.get(1), a.get(2), b.get(2));
        Recorder r = new Recorder();
        new TcpCoalescer(64, 4).write(load(batch), batch.size(), r);
        assertThat(r.writes).hasSize(2);
        assertThat(r.writes.get(0).length).isEqualTo(10 + 52 + 3_000);
        assertThat(u16(r.writes.get(0), 10 + 20)).isEqualTo(1000);
        assertThat(u16(r.writes.get(1), 10 + 20)).isEqualTo(2000);
    }

    @Test
    void pshShorterSegmentsAndGapsEndASuperpacket() throws IOException {
        List<byte[]> batch = new ArrayList<>(segments(false, 1, 1, 1_000, 2, 0x18)); // PSH on the second
        batch.add(tcpPacket(false, 1, 2_001, 9, 0x10, payload(1_000))); // after PSH: a new superpacket
        batch.add(tcpPacket(false, 1, 3_001, 9, 0x10, payload(500)));   // shorter: may end it
        batch.add(tcpPacket(false, 1, 3_501, 9, 0x10, payload(500)));   // nothing after a shorter one
        batch.add(tcpPacket(false, 1, 9_999, 9, 0x10, payload(500)));   // a gap
        batch.add(tcpPacket(false, 1, 10_999, 77, 0x10, payload(500))); // another ACK number: another flow
        byte[] fin = tcpPacket(false, 1, 11_499, 77, 0x11, payload(10)); // FIN: never merged
        batch.add(fin);
        Recorder r = new Recorder();
        new TcpCoalescer(64, 4).write(load(batch), batch.size(), r);
        // [1,2] [3,4] [5] [6] [7] [8 FIN]
        assertThat(r.writes).extracting(w -> w.length - 10).containsExactly(
                52 + 2_000, 52 + 1_500, 52 + 500, 52 + 500, 52 + 500, 52 + 10);
        assertThat(r.writes.get(0)[10 + 20 + 13] & 0x08).as("PSH kept").isEqualTo(0x08);
        assertThat(r.writes.get(5)).as("a packet written alone is passed on unchanged").endsWith(fin);
        for (int i = 2; i < 6; i++) assertThat(r.writes.get(i)[1]).as("alone: no GSO").isEqualTo((byte) 0);
    }

    @Test
    void aPacketWrittenAloneEndsItsConnectionsSuperpacket() throws IOException {
        // seg1, a window update of the same connection (no payload, same ACK), seg2: merging seg2 into
        // seg1 would write it before the update.
        List<byte[]> batch = List.of(tcpPacket(false, 1, 1, 9, 0x10, payload(1_000)),
                tcpPacket(false, 1, 1_001, 9, 0x10, new byte[0]),
                tcpPacket(false, 1, 1_001, 9, 0x10, payload(1_000)),
                tcpPacket(false, 1, 2_001, 9, 0x10, payload(1_000)));
        Recorder r = new Recorder();
        new TcpCoalescer(64, 4).write(load(batch), batch.size(), r);
        assertThat(r.writes).extracting(w -> w.length - 10).containsExactly(52 + 1_000, 52, 52 + 2_000);
    }

    @Test
    void aCompletedChecksumIsNeverZero() {
        // A UDP datagram whose data sums to 0xffff: the complement is 0, which UDP reads as "no checksum".
        byte[] p = new byte[28 + 2];
        p[0] = 0x45; p[3] = (byte) p.length; p[9] = 17; p[8] = 64;
        p[12] = 10; p[15] = 1; p[16] = 10; p[19] = 2;
        p[20] = 0x10; p[23] = 0x20; p[25] = 10; // ports, UDP length 10
        long pseudo = referenceSum(p, 12, 20, 0) + 17 + 10;
        // Choose the payload so that pseudo-header + header + payload sums to exactly 0xffff.
        int rest = referenceSum(p, 20, 28, pseudo);
        int need = (0xffff - rest) & 0xffff;
        p[28] = (byte) (need >> 8); p[29] = (byte) need;
        assertThat(referenceSum(p, 20, 30, pseudo)).isEqualTo(0xffff);
        int partial = referenceSum(new byte[0], 0, 0, pseudo);
        p[26] = (byte) (partial >> 8); p[27] = (byte) partial;
        ByteBuffer read = ByteBuffer.allocateDirect(256);
        VirtioNetHeader.write(read, 0, VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_NONE, 0, 0, 20, 6);
        read.put(VirtioNetHeader.LENGTH, p);
        ByteBuffer[] o = outs(1, 256);
        offer(o);
        assertThat(TcpSegmentation.split(read, 0, VirtioNetHeader.LENGTH + p.length, o, 1, 0)).isEqualTo(1);
        assertThat(u16(bytes(o[0]), 26)).isEqualTo(0xffff);
    }

    @Test
    void writesAloneWhenNoSuperpacketBufferIsFree() throws IOException {
        List<byte[]> a = segments(false, 1, 1, 1_000, 2, 0x10);
        List<byte[]> b = segments(false, 2, 1, 1_000, 2, 0x10);
        List<byte[]> batch = new ArrayList<>(a);
        batch.addAll(b);
        Recorder r = new Recorder();
        TcpCoalescer c = new TcpCoalescer(8, 1);
        c.write(load(batch), batch.size(), r);
        assertThat(r.writes).extracting(w -> w.length).containsExactly(10 + 52 + 2_000, 10 + 1_052, 10 + 1_052);
        r.writes.clear();
        c.write(load(batch), batch.size(), r); // buffers are free again in the next batch
        assertThat(r.writes).hasSize(3);
    }
}
