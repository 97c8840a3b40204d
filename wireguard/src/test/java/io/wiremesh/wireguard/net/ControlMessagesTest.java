package io.wiremesh.wireguard.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.kenai.jffi.MemoryIO;
import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import jnr.ffi.Memory;
import org.junit.jupiter.api.Test;

/** Control messages and socket addresses in native memory, byte for byte as cmsg(3), ip(7) and ipv6(7) lay them out on x86_64. */
class ControlMessagesTest {
    private static final MemoryIO IO = MemoryIO.getInstance();
    private final long mem = Memory.allocateDirect(LibC.runtime(), 256, true).address();

    private String hex(long addr, int n) {
        byte[] b = new byte[n];
        IO.getByteArray(addr, b, 0, n);
        return HexFormat.of().formatHex(b);
    }

    private void put(long addr, String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        IO.putByteArray(addr, b, 0, b.length);
    }

    @Test
    void readsTheDestinationOfAnIpv4DatagramAsV4Mapped() throws Exception {
        // A first, unrelated cmsg (SOL_SOCKET/SO_TIMESTAMP, 16+16 bytes), then IP_PKTINFO {ifindex 3, spec_dst 10.0.0.9, addr 10.0.0.7}.
        put(mem, "2000000000000000" + "01000000" + "1d000000" + "00".repeat(16)
                + "1c00000000000000" + "00000000" + "08000000" + "03000000" + "0a000009" + "0a000007" + "00000000");
        long out = mem + 128;
        assertThat(ControlMessages.destination(mem, 64, out)).isEqualTo(4);
        assertThat(hex(out, 16)).isEqualTo("00000000000000000000ffff0a000007");
        assertThat(ControlMessages.address(out, 4)).isEqualTo(InetAddress.getByName("10.0.0.7"));
    }

    @Test
    void readsTheDestinationOfAnIpv6Datagram() throws Exception {
        put(mem, "2400000000000000" + "29000000" + "32000000" + "fd000000000000000000000000000002" + "05000000" + "00000000");
        long out = mem + 128;
        assertThat(ControlMessages.destination(mem, 40, out)).isEqualTo(16);
        assertThat(ControlMessages.address(out, 16)).isEqualTo(InetAddress.getByName("fd00::2"));
    }

    @Test
    void noPacketInfoOrATruncatedBufferIsNoDestination() {
        put(mem, "2000000000000000" + "01000000" + "1d000000" + "00".repeat(16));
        assertThat(ControlMessages.destination(mem, 32, mem + 128)).isZero();
        assertThat(ControlMessages.destination(mem, 0, mem + 128)).isZero();
        put(mem, "ff00000000000000" + "00000000" + "08000000");
        assertThat(ControlMessages.destination(mem, 64, mem + 128)).as("cmsg_len beyond the buffer").isZero();
    }

    @Test
    void readsTheSegmentSizeOfACoalescedReadAndWritesOneForASend() {
        // IPV6_PKTINFO (16+20, padded to 40), then UDP_GRO {1452} (SOL_UDP 17, type 104).
        put(mem, "2400000000000000" + "29000000" + "32000000" + "fd000000000000000000000000000002" + "05000000" + "00000000"
                + "1400000000000000" + "11000000" + "68000000" + "ac050000" + "00000000");
        assertThat(ControlMessages.segmentSize(mem, 64)).isEqualTo(1452);
        assertThat(ControlMessages.destination(mem, 64, mem + 128)).as("packet info still found").isEqualTo(16);
        assertThat(ControlMessages.segmentSize(mem, 40)).as("no UDP_GRO: one datagram").isZero();
        assertThat(ControlMessages.writeSegmentSize(mem, 1452)).isEqualTo(ControlMessages.SEGMENT_SPACE);
        assertThat(hex(mem, 18)).isEqualTo("1200000000000000" + "11000000" + "67000000" + "ac05");
    }

    @Test
    void writesTheSourceOfAReply() throws Exception {
        Endpoint v4 = Endpoint.of(new InetSocketAddress("198.18.0.1", 51820), InetAddress.getByName("198.18.0.9"));
        assertThat(ControlMessages.writeSource(mem, v4)).isEqualTo(32);
        assertThat(hex(mem, 28)).isEqualTo("1c00000000000000" + "00000000" + "08000000" + "00000000" + "c6120009" + "00000000");
        Endpoint v6 = Endpoint.of(new InetSocketAddress("fd00::1", 51820), InetAddress.getByName("fd00::9"));
        assertThat(ControlMessages.writeSource(mem, v6)).isEqualTo(40);
        assertThat(hex(mem, 36)).isEqualTo("2400000000000000" + "29000000" + "32000000" + "fd000000000000000000000000000009" + "00000000");
    }

    @Test
    void socketAddressesRoundTripOnBothSocketKinds() throws Exception {
        Endpoint v4 = Endpoint.of(new InetSocketAddress("198.18.0.1", 51820));
        assertThat(SocketAddresses.write(mem, true, v4)).isEqualTo(28);
        assertThat(hex(mem, 28)).isEqualTo("0a00" + "ca6c" + "00000000" + "00000000000000000000ffffc6120001" + "00000000");
        assertThat(SocketAddresses.read(mem)).isEqualTo(new InetSocketAddress("198.18.0.1", 51820));
        assertThat(SocketAddresses.write(mem, false, v4)).isEqualTo(16);
        assertThat(hex(mem, 16)).isEqualTo("0200" + "ca6c" + "c6120001" + "0000000000000000");
        assertThat(SocketAddresses.read(mem)).isEqualTo(new InetSocketAddress("198.18.0.1", 51820));
        Endpoint v6 = Endpoint.of(new InetSocketAddress("fd00::1", 443));
        SocketAddresses.write(mem, true, v6);
        assertThat(SocketAddresses.read(mem)).isEqualTo(new InetSocketAddress("fd00::1", 443));
        assertThatThrownBy(() -> SocketAddresses.write(mem, false, v6)).isInstanceOf(IOException.class).hasMessageContaining("IPv4-only");
    }
}
