package io.wiremesh.node.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Encoding of the kernel WireGuard generic-netlink messages, checked field by field against the
 * layout of the kernel's uapi header (there is no WireGuard module on the test machines).
 */
class WireGuardGenlTest {
    private static final short FAMILY = 0x1d;

    private static ByteBuffer body(Message m) {
        ByteBuffer b = m.finish(7).order(ByteOrder.nativeOrder());
        return b.slice(0, b.limit()).order(ByteOrder.nativeOrder());
    }

    @Test
    void sockaddrsAreKernelStructs() {
        ByteBuffer v4 = ByteBuffer.wrap(WireGuardGenl.sockaddr(new InetSocketAddress("198.18.0.2", 51820))).order(ByteOrder.nativeOrder());
        assertThat(v4.capacity()).isEqualTo(16);
        assertThat(v4.getShort(0)).isEqualTo((short) Netlink.AF_INET);
        assertThat(Short.toUnsignedInt(v4.duplicate().order(ByteOrder.BIG_ENDIAN).getShort(2))).isEqualTo(51820);
        assertThat(new byte[] {v4.get(4), v4.get(5), v4.get(6), v4.get(7)}).containsExactly(198, 18, 0, 2);
        byte[] v6 = WireGuardGenl.sockaddr(new InetSocketAddress("fd00::2", 443));
        assertThat(v6).hasSize(28);
        assertThat(ByteBuffer.wrap(v6).order(ByteOrder.nativeOrder()).getShort(0)).isEqualTo((short) Netlink.AF_INET6);
        assertThat(v6[8]).isEqualTo((byte) 0xfd);
        assertThat(v6[23]).isEqualTo((byte) 2);
    }

    @Test
    void setPeerNestsPeersAndAllowedIpsAsArrays() throws Exception {
        byte[] key = new byte[32];
        key[0] = 9;
        Message m = WireGuardGenl.setPeer(FAMILY, "wg0", key, new InetSocketAddress("198.18.0.2", 51820),
                List.of(new WireGuardGenl.AllowedIp(InetAddress.getByName("10.42.2.0"), 24)), 25, false);
        ByteBuffer b = body(m);
        assertThat(b.getInt(0)).isEqualTo(b.limit());               // nlmsg_len
        assertThat(b.getShort(4)).isEqualTo(FAMILY);                // nlmsg_type = family id
        assertThat(b.get(16)).isEqualTo((byte) WireGuardGenl.WG_CMD_SET_DEVICE);
        assertThat(b.get(17)).isEqualTo((byte) 1);                  // genl version
        List<Attr> top = Attr.parse(b, 20);
        assertThat(top).extracting(Attr::type).containsExactly(WireGuardGenl.WGDEVICE_A_IFNAME, WireGuardGenl.WGDEVICE_A_PEERS);
        assertThat(new String(top.get(0).bytes())).isEqualTo("wg0\0");
        assertThat(b.getShort(20 + 8 + 2) & Attr.NLA_F_NESTED).isNotZero(); // PEERS carries NLA_F_NESTED
        List<Attr> peer = top.get(1).nested().get(0).nested();
        assertThat(peer).extracting(Attr::type).containsExactly(WireGuardGenl.WGPEER_A_PUBLIC_KEY, WireGuardGenl.WGPEER_A_FLAGS,
                WireGuardGenl.WGPEER_A_ENDPOINT, WireGuardGenl.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, WireGuardGenl.WGPEER_A_ALLOWEDIPS);
        assertThat(peer.get(0).bytes()).isEqualTo(key);
        assertThat(peer.get(1).data().getInt(0)).isEqualTo(WireGuardGenl.WGPEER_F_REPLACE_ALLOWEDIPS);
        assertThat(peer.get(3).data().remaining()).isEqualTo(2);
        assertThat(peer.get(3).data().getShort(0)).isEqualTo((short) 25);
        List<Attr> ip = peer.get(4).nested().get(0).nested();
        assertThat(ip.get(0).data().getShort(0)).isEqualTo((short) Netlink.AF_INET);
        assertThat(ip.get(1).bytes()).containsExactly(10, 42, 2, 0);
        assertThat(ip.get(2).bytes()).containsExactly(24);
    }

    @Test
    void removeCarriesOnlyTheKeyAndTheRemoveFlag() {
        ByteBuffer b = body(WireGuardGenl.setPeer(FAMILY, "wg0", new byte[32], null, null, 0, true));
        List<Attr> peer = Attr.parse(b, 20).get(1).nested().get(0).nested();
        assertThat(peer).extracting(Attr::type).containsExactly(WireGuardGenl.WGPEER_A_PUBLIC_KEY, WireGuardGenl.WGPEER_A_FLAGS);
        assertThat(peer.get(1).data().getInt(0)).isEqualTo(WireGuardGenl.WGPEER_F_REMOVE_ME);
    }

    @Test
    void aGetDeviceReplyParses() throws Exception {
        // What the kernel sends: the same attribute layout, with counters and handshake time.
        byte[] key = new byte[32];
        key[5] = 1;
        Message reply = WireGuardGenl.header(FAMILY, WireGuardGenl.WG_CMD_GET_DEVICE, 0)
                .attr(WireGuardGenl.WGDEVICE_A_PRIVATE_KEY, new byte[32]).attr16(WireGuardGenl.WGDEVICE_A_LISTEN_PORT, 51820)
                .begin(WireGuardGenl.WGDEVICE_A_PEERS | Attr.NLA_F_NESTED).begin(Attr.NLA_F_NESTED)
                .attr(WireGuardGenl.WGPEER_A_PUBLIC_KEY, key)
                .attr(WireGuardGenl.WGPEER_A_ENDPOINT, WireGuardGenl.sockaddr(new InetSocketAddress("198.18.0.9", 4000)))
                .attr(WireGuardGenl.WGPEER_A_RX_BYTES, longBytes(1234)).attr(WireGuardGenl.WGPEER_A_TX_BYTES, longBytes(99))
                .begin(WireGuardGenl.WGPEER_A_ALLOWEDIPS | Attr.NLA_F_NESTED).begin(Attr.NLA_F_NESTED)
                .attr16(WireGuardGenl.WGALLOWEDIP_A_FAMILY, Netlink.AF_INET6).attr(WireGuardGenl.WGALLOWEDIP_A_IPADDR,
                        InetAddress.getByName("fd42::1:0").getAddress()).attr8(WireGuardGenl.WGALLOWEDIP_A_CIDR_MASK, 112)
                .end().end().end().end();
        ByteBuffer b = body(reply);
        WireGuardGenl.Device d = WireGuardGenl.parseDevice(List.of(b.slice(16, b.limit() - 16).order(ByteOrder.nativeOrder())));
        assertThat(d.listenPort()).isEqualTo(51820);
        assertThat(d.peers()).singleElement().satisfies(p -> {
            assertThat(p.publicKey()).isEqualTo(key);
            assertThat(p.endpoint()).isEqualTo(new InetSocketAddress("198.18.0.9", 4000));
            assertThat(p.rxBytes()).isEqualTo(1234);
            assertThat(p.txBytes()).isEqualTo(99);
            assertThat(p.allowedIps()).singleElement().satisfies(a -> assertThat(a.bits()).isEqualTo(112));
        });
    }

    @Test
    void aPeerSplitAcrossDumpPartsIsOnePeer() throws Exception {
        // The kernel fills each dump message as far as it goes: a peer with many allowed IPs continues in the
        // next message as its public key plus the rest of its allowed IPs.
        byte[] a = new byte[32], b = new byte[32];
        a[0] = 1;
        b[0] = 2;
        ByteBuffer first = part(new byte[][] {a}, new String[][] {{"10.1.0.0", "10.2.0.0"}}, true);
        ByteBuffer second = part(new byte[][] {a, b}, new String[][] {{"10.3.0.0"}, {"10.9.0.0"}}, false);
        WireGuardGenl.Device d = WireGuardGenl.parseDevice(List.of(first, second));
        assertThat(d.peers()).hasSize(2);
        assertThat(d.peers().get(0).publicKey()).isEqualTo(a);
        assertThat(d.peers().get(0).allowedIps()).extracting(x -> x.address().getHostAddress()).containsExactly("10.1.0.0", "10.2.0.0", "10.3.0.0");
        assertThat(d.peers().get(0).endpoint()).isEqualTo(new InetSocketAddress("198.18.0.9", 4000));
        assertThat(d.peers().get(1).allowedIps()).hasSize(1);
    }

    /** One dump part: device attributes, then peers (the first with its endpoint when {@code withEndpoint}). */
    private static ByteBuffer part(byte[][] keys, String[][] ips, boolean withEndpoint) throws Exception {
        Message m = WireGuardGenl.header(FAMILY, WireGuardGenl.WG_CMD_GET_DEVICE, 0).attr16(WireGuardGenl.WGDEVICE_A_LISTEN_PORT, 51820)
                .begin(WireGuardGenl.WGDEVICE_A_PEERS | Attr.NLA_F_NESTED);
        for (int i = 0; i < keys.length; i++) {
            m.begin(Attr.NLA_F_NESTED).attr(WireGuardGenl.WGPEER_A_PUBLIC_KEY, keys[i]);
            if (withEndpoint && i == 0) m.attr(WireGuardGenl.WGPEER_A_ENDPOINT, WireGuardGenl.sockaddr(new InetSocketAddress("198.18.0.9", 4000)));
            m.begin(WireGuardGenl.WGPEER_A_ALLOWEDIPS | Attr.NLA_F_NESTED);
            for (String ip : ips[i]) {
                m.begin(Attr.NLA_F_NESTED).attr16(WireGuardGenl.WGALLOWEDIP_A_FAMILY, Netlink.AF_INET)
                        .attr(WireGuardGenl.WGALLOWEDIP_A_IPADDR, InetAddress.getByName(ip).getAddress()).attr8(WireGuardGenl.WGALLOWEDIP_A_CIDR_MASK, 16).end();
            }
            m.end().end();
        }
        ByteBuffer b = body(m.end());
        return b.slice(16, b.limit() - 16).order(ByteOrder.nativeOrder());
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(v).array();
    }
}
