package io.wiremesh.wireguard.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wiremesh.wireguard.linux.LibC;
import io.wiremesh.wireguard.offload.Fallbacks;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A run of datagrams the kernel refuses to send with UDP_SEGMENT is sent one by one, none dropped: made real on
 * loopback with checksums turned off on the socket (SO_NO_CHECK), which udp_send_skb refuses for a segmented send
 * with EINVAL. EINVAL is about the socket's or path's state, so segmentation is tried again once it changes.
 */
class SegmentationFallbackTest {
    private static final int SO_NO_CHECK = 11;

    @Test
    void aRefusedRunArrivesWholeOneDatagramAtATime() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux sockets");
        try (DatagramChannel receiver = DatagramChannel.open(); LinuxUdpBind bind = LinuxUdpBind.open(0, true)) {
            receiver.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            receiver.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            receiver.socket().setSoTimeout(60_000); // a lost datagram fails the test instead of hanging it
            Endpoint to = Endpoint.of((InetSocketAddress) receiver.getLocalAddress());
            assumeTrue(bind.segmentation(), "this kernel has no UDP segmentation");

            assertThat(LinuxUdpBind.trySetInt(bind.fd(), LibC.SOL_SOCKET, SO_NO_CHECK, 1)).isTrue();
            long before = Fallbacks.count(Fallbacks.Kind.UDP_SEGMENTATION, "EINVAL");
            send(bind, to, 0, 32);
            assertThat(received(receiver, 32)).as("every datagram of the refused run").isEqualTo(range(0, 32));
            assertThat(Fallbacks.count(Fallbacks.Kind.UDP_SEGMENTATION, "EINVAL")).isEqualTo(before + 1);
            assertThat(bind.segmentation()).as("EINVAL is about this socket's or path's state: tried again").isTrue();

            assertThat(LinuxUdpBind.trySetInt(bind.fd(), LibC.SOL_SOCKET, SO_NO_CHECK, 0)).isTrue();
            send(bind, to, 32, 32);
            assertThat(received(receiver, 32)).isEqualTo(range(32, 64));
            assertThat(Fallbacks.count(Fallbacks.Kind.UDP_SEGMENTATION, "EINVAL")).as("segmented again, accepted").isEqualTo(before + 1);
        }
    }

    /** Datagrams {@code first..first+n} of 1,200 bytes (equal sizes: one segmented run), numbered in their first 4 bytes. */
    private static void send(LinuxUdpBind bind, Endpoint to, int first, int n) throws Exception {
        ByteBuffer[] packets = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            packets[i] = ByteBuffer.allocateDirect(1_200);
            packets[i].putInt(0, first + i).limit(1_200);
        }
        bind.send(packets, n, to);
    }

    private static Set<Integer> received(DatagramChannel receiver, int n) throws Exception {
        Set<Integer> got = new HashSet<>();
        java.net.DatagramPacket d = new java.net.DatagramPacket(new byte[2_000], 2_000);
        for (int i = 0; i < n; i++) {
            receiver.socket().receive(d);
            assertThat(d.getLength()).isEqualTo(1_200);
            got.add(ByteBuffer.wrap(d.getData()).getInt(0));
        }
        return got;
    }

    private static Set<Integer> range(int from, int to) {
        Set<Integer> s = new HashSet<>();
        for (int i = from; i < to; i++) s.add(i);
        return s;
    }
}
