package io.wiremesh.node.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** IFLA_INFO_KIND read out of an IFLA_LINKINFO nest as RTM_NEWLINK replies carry it (rtnetlink(7)). */
class LinkKindTest {
    /** One rtattr: length, type, payload, padded to 4 bytes. */
    private static byte[] attr(int type, byte[] payload) {
        int len = 4 + payload.length;
        ByteBuffer b = ByteBuffer.allocate((len + 3) & ~3).order(ByteOrder.nativeOrder());
        b.putShort((short) len).putShort((short) type).put(payload);
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(java.util.Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) b.put(p);
        return b.array();
    }

    @Test
    void kindIsTheNulTerminatedString() {
        byte[] info = attr(Netlink.IFLA_INFO_KIND, "wireguard\0".getBytes());
        assertThat(Netlink.infoKind(info)).isEqualTo("wireguard");
    }

    @Test
    void kindAfterOtherAttributes() {
        byte[] info = concat(attr(Netlink.IFLA_INFO_DATA, new byte[] {1, 2, 3, 4, 5}), attr(Netlink.IFLA_INFO_KIND, "tun\0".getBytes()));
        assertThat(Netlink.infoKind(info)).isEqualTo("tun");
    }

    @Test
    void noKindOrATruncatedNestGivesNull() {
        assertThat(Netlink.infoKind(new byte[0])).isNull();
        assertThat(Netlink.infoKind(attr(Netlink.IFLA_INFO_DATA, new byte[] {9}))).isNull();
        byte[] truncated = attr(Netlink.IFLA_INFO_KIND, "wireguard\0".getBytes());
        assertThat(Netlink.infoKind(java.util.Arrays.copyOf(truncated, 6))).isNull();
    }
}
