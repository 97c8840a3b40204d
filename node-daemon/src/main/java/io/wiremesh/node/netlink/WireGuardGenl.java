package io.wiremesh.node.netlink;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel WireGuard module's generic netlink API ("wireguard" family, version 1): the same
 * operations the {@code wg} tool uses, with the attribute numbers of the kernel's uapi header.
 */
public final class WireGuardGenl implements AutoCloseable {
    static final int WG_CMD_GET_DEVICE = 0, WG_CMD_SET_DEVICE = 1;
    static final int WGDEVICE_A_IFNAME = 2, WGDEVICE_A_PRIVATE_KEY = 3, WGDEVICE_A_LISTEN_PORT = 6, WGDEVICE_A_PEERS = 8;
    static final int WGPEER_A_PUBLIC_KEY = 1, WGPEER_A_PRESHARED_KEY = 2, WGPEER_A_FLAGS = 3, WGPEER_A_ENDPOINT = 4, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
    static final int WGPEER_A_LAST_HANDSHAKE_TIME = 6, WGPEER_A_RX_BYTES = 7, WGPEER_A_TX_BYTES = 8, WGPEER_A_ALLOWEDIPS = 9;
    static final int WGPEER_A_PROTOCOL_VERSION = 10;
    static final int WGPEER_F_REMOVE_ME = 1, WGPEER_F_REPLACE_ALLOWEDIPS = 2;
    static final int WGALLOWEDIP_A_FAMILY = 1, WGALLOWEDIP_A_IPADDR = 2, WGALLOWEDIP_A_CIDR_MASK = 3;

    public record AllowedIp(InetAddress address, int bits) {}

    /** A peer as GET_DEVICE reports it; {@code presharedKey} is all zeros when none is set. */
    public record Peer(byte[] publicKey, InetSocketAddress endpoint, List<AllowedIp> allowedIps, long lastHandshakeSeconds,
                       long rxBytes, long txBytes, int persistentKeepalive, byte[] presharedKey) {}

    /** What GET_DEVICE reports: the private key (null when unset), the port and the peers. */
    public record Device(byte[] privateKey, int listenPort, List<Peer> peers) {}

    private final Netlink nl;
    private final short family;

    private WireGuardGenl(Netlink nl, short family) {
        this.nl = nl;
        this.family = family;
    }

    /** Opens the API; throws when the module is absent. */
    public static WireGuardGenl open() throws IOException {
        Netlink nl = Netlink.openGeneric();
        short id = nl.genericFamilyId("wireguard");
        if (id == 0) {
            nl.close();
            throw new IOException("the WireGuard kernel module is not loaded");
        }
        return new WireGuardGenl(nl, id);
    }

    static Message header(short family, int cmd, int flags) {
        return new Message(family, flags).u8(cmd).u8(1).u16(0);
    }

    static Message setDevice(short family, String ifname, byte[] privateKey, int listenPort) {
        return header(family, WG_CMD_SET_DEVICE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK)
                .attr(WGDEVICE_A_IFNAME, ifname).attr(WGDEVICE_A_PRIVATE_KEY, privateKey).attr16(WGDEVICE_A_LISTEN_PORT, listenPort);
    }

    /** One peer in a SET_DEVICE message: added or updated; allowed IPs replaced when {@code allowedIps} is not null. */
    static Message setPeer(short family, String ifname, byte[] publicKey, InetSocketAddress endpoint, List<AllowedIp> allowedIps,
                           int keepalive, boolean remove) {
        return setPeer(family, ifname, publicKey, null, endpoint, allowedIps, keepalive, remove);
    }

    static Message setPeer(short family, String ifname, byte[] publicKey, byte[] presharedKey, InetSocketAddress endpoint,
                           List<AllowedIp> allowedIps, int keepalive, boolean remove) {
        Message m = header(family, WG_CMD_SET_DEVICE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK).attr(WGDEVICE_A_IFNAME, ifname)
                .begin(WGDEVICE_A_PEERS | Attr.NLA_F_NESTED).begin(Attr.NLA_F_NESTED)
                .attr(WGPEER_A_PUBLIC_KEY, publicKey);
        if (remove) return m.attr(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME).end().end();
        if (allowedIps != null) m.attr(WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
        if (presharedKey != null) m.attr(WGPEER_A_PRESHARED_KEY, presharedKey);
        if (endpoint != null) m.attr(WGPEER_A_ENDPOINT, sockaddr(endpoint));
        m.attr16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, keepalive);
        if (allowedIps != null) {
            m.begin(WGPEER_A_ALLOWEDIPS | Attr.NLA_F_NESTED);
            for (AllowedIp ip : allowedIps) {
                byte[] a = ip.address().getAddress();
                m.begin(Attr.NLA_F_NESTED).attr16(WGALLOWEDIP_A_FAMILY, a.length == 4 ? Netlink.AF_INET : Netlink.AF_INET6)
                        .attr(WGALLOWEDIP_A_IPADDR, a).attr8(WGALLOWEDIP_A_CIDR_MASK, ip.bits()).end();
            }
            m.end();
        }
        return m.end().end();
    }

    /** struct sockaddr_in / sockaddr_in6, port in network order. */
    static byte[] sockaddr(InetSocketAddress ep) {
        byte[] a = ep.getAddress().getAddress();
        ByteBuffer b = ByteBuffer.allocate(a.length == 4 ? 16 : 28).order(ByteOrder.nativeOrder());
        b.putShort((short) (a.length == 4 ? Netlink.AF_INET : Netlink.AF_INET6));
        b.order(ByteOrder.BIG_ENDIAN).putShort((short) ep.getPort()).order(ByteOrder.nativeOrder());
        if (a.length == 16) b.putInt(0);
        b.put(a);
        return b.array();
    }

    static InetSocketAddress parseSockaddr(ByteBuffer d) throws IOException {
        int fam = d.getShort(0);
        int port = Short.toUnsignedInt(d.duplicate().order(ByteOrder.BIG_ENDIAN).getShort(2));
        byte[] a = new byte[fam == Netlink.AF_INET ? 4 : 16];
        d.get(fam == Netlink.AF_INET ? 4 : 8, a);
        return new InetSocketAddress(InetAddress.getByAddress(a), port);
    }

    /** Parses the payloads of a GET_DEVICE dump (after the generic header): every part of a multi-part reply. */
    static Device parseDevice(List<ByteBuffer> replies) throws IOException {
        byte[] priv = null;
        int port = 0;
        List<Peer> peers = new ArrayList<>();
        for (ByteBuffer r : replies) {
            for (Attr a : Attr.parse(r, 4)) {
                switch (a.type()) {
                    case WGDEVICE_A_PRIVATE_KEY -> priv = a.bytes();
                    case WGDEVICE_A_LISTEN_PORT -> port = Short.toUnsignedInt(a.data().getShort(0));
                    case WGDEVICE_A_PEERS -> {
                        for (Attr p : a.nested()) {
                            Peer peer = parsePeer(p.nested());
                            Peer last = peers.isEmpty() ? null : peers.getLast();
                            // A peer with more allowed IPs than fit one message continues in the next one, repeated
                            // with its public key and the rest of its allowed IPs only: one peer, not two.
                            if (last != null && java.util.Arrays.equals(last.publicKey(), peer.publicKey())) {
                                List<AllowedIp> ips = new ArrayList<>(last.allowedIps());
                                ips.addAll(peer.allowedIps());
                                peers.set(peers.size() - 1, new Peer(last.publicKey(), last.endpoint(), ips, last.lastHandshakeSeconds(),
                                        last.rxBytes(), last.txBytes(), last.persistentKeepalive(), last.presharedKey()));
                            } else {
                                peers.add(peer);
                            }
                        }
                    }
                    default -> { }
                }
            }
        }
        return new Device(priv, port, peers);
    }

    private static Peer parsePeer(List<Attr> attrs) throws IOException {
        byte[] key = null;
        InetSocketAddress ep = null;
        List<AllowedIp> ips = new ArrayList<>();
        long hs = 0, rx = 0, tx = 0;
        int keepalive = 0;
        byte[] psk = null;
        for (Attr a : attrs) {
            switch (a.type()) {
                case WGPEER_A_PUBLIC_KEY -> key = a.bytes();
                case WGPEER_A_PRESHARED_KEY -> psk = a.bytes();
                case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL -> keepalive = Short.toUnsignedInt(a.data().getShort(0));
                case WGPEER_A_ENDPOINT -> ep = parseSockaddr(a.data());
                case WGPEER_A_LAST_HANDSHAKE_TIME -> hs = a.data().getLong(0);
                case WGPEER_A_RX_BYTES -> rx = a.data().getLong(0);
                case WGPEER_A_TX_BYTES -> tx = a.data().getLong(0);
                case WGPEER_A_ALLOWEDIPS -> {
                    for (Attr ip : a.nested()) {
                        byte[] addr = null;
                        int bits = 0;
                        for (Attr f : ip.nested()) {
                            if (f.type() == WGALLOWEDIP_A_IPADDR) addr = f.bytes();
                            else if (f.type() == WGALLOWEDIP_A_CIDR_MASK) bits = Byte.toUnsignedInt(f.data().get(0));
                        }
                        if (addr != null) ips.add(new AllowedIp(InetAddress.getByAddress(addr), bits));
                    }
                }
                default -> { }
            }
        }
        return new Peer(key, ep, ips, hs, rx, tx, keepalive, psk);
    }

    public void configure(String ifname, byte[] privateKey, int listenPort) throws IOException {
        nl.exchange(setDevice(family, ifname, privateKey, listenPort), "configure " + ifname);
    }

    public void setPeer(String ifname, byte[] publicKey, byte[] presharedKey, InetSocketAddress endpoint, List<AllowedIp> allowedIps,
                        int keepalive) throws IOException {
        nl.exchange(setPeer(family, ifname, publicKey, presharedKey, endpoint, allowedIps, keepalive, false), "set peer on " + ifname);
    }

    public void removePeer(String ifname, byte[] publicKey) throws IOException {
        nl.exchange(setPeer(family, ifname, publicKey, null, null, 0, true), "remove peer from " + ifname);
    }

    public Device device(String ifname) throws IOException {
        return parseDevice(nl.exchange(header(family, WG_CMD_GET_DEVICE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP)
                .attr(WGDEVICE_A_IFNAME, ifname), "get " + ifname));
    }

    @Override
    public void close() {
        nl.close();
    }
}
