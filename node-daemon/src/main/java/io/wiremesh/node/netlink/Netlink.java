package io.wiremesh.node.netlink;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * An rtnetlink socket (links, addresses, routes) through jnr-ffi: the product never runs {@code ip}.
 * A socket belongs to the network namespace it was opened in; {@link NetNs#open} opens one inside a
 * pod's namespace. Not thread-safe: one request at a time.
 */
public final class Netlink implements AutoCloseable {
    static final short RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18;
    static final short RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
    static final short RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
    static final short RTM_NEWRULE = 32, RTM_DELRULE = 33, RTM_GETRULE = 34;
    static final int NLM_F_REQUEST = 1, NLM_F_MULTI = 2, NLM_F_ACK = 4, NLM_F_DUMP = 0x300;
    static final int NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    static final int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINKINFO = 18, IFLA_NET_NS_FD = 28;
    static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, VETH_INFO_PEER = 1;
    static final int IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_F_NODAD = 0x02;
    static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_PREFSRC = 7, RTA_TABLE = 15;
    /** Policy rule attributes (linux/fib_rules.h). */
    static final int FRA_SRC = 2, FRA_PRIORITY = 6, FRA_FWMARK = 10, FRA_TABLE = 15, FRA_FWMASK = 16, FRA_PROTOCOL = 21, FR_ACT_TO_TBL = 1;
    static final int IFF_UP = 1;
    public static final int AF_INET = 2, AF_INET6 = 10;
    public static final int RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253;
    /** In a delete request: match a route of any scope (the kernel compares the scope otherwise). */
    static final int RT_SCOPE_NOWHERE = 255;
    public static final int RTN_UNICAST = 1, RTN_UNREACHABLE = 7;
    public static final int RT_TABLE_MAIN = 254;
    /** Routes we install carry this protocol number, so they are recognisably ours. */
    public static final int RTPROT_WIREMESH = 0x57;

    private static final LibC C = LibC.INSTANCE;
    private final int fd;
    private final ByteBuffer rx = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.nativeOrder());
    private final ByteBuffer tx = ByteBuffer.allocateDirect(1 << 13).order(ByteOrder.nativeOrder());
    private int seq = (int) (System.nanoTime() & 0x7fffffff);

    private Netlink(int fd) {
        this.fd = fd;
    }

    /** Opens an rtnetlink socket in the calling thread's network namespace. */
    public static Netlink open() throws IOException {
        return open(LibC.NETLINK_ROUTE);
    }

    static final int NETLINK_GENERIC = 16;
    static final short GENL_ID_CTRL = 0x10;
    static final int CTRL_CMD_GETFAMILY = 3, CTRL_ATTR_FAMILY_NAME = 2;

    /**
     * Whether the kernel offers a generic netlink family (e.g. "wireguard", present when the
     * WireGuard module is loaded or built in).
     */
    public static boolean genericFamilyExists(String name) throws IOException {
        try (Netlink g = open(NETLINK_GENERIC)) {
            return g.genericFamilyId(name) != 0;
        }
    }

    /** The id of a generic netlink family on this (generic) socket, or 0 when the kernel has none. */
    short genericFamilyId(String name) throws IOException {
        try {
            List<ByteBuffer> r = exchange(new Message(GENL_ID_CTRL, NLM_F_REQUEST).u8(CTRL_CMD_GETFAMILY).u8(1).u16(0)
                    .attr(CTRL_ATTR_FAMILY_NAME, name), "resolve generic netlink family " + name);
            for (Attr a : Attr.parse(r.get(0), 4)) if (a.type() == 1) return a.data().getShort(0); // CTRL_ATTR_FAMILY_ID
            return 0;
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ENOENT) return 0;
            throw e;
        }
    }

    static Netlink openGeneric() throws IOException {
        return open(NETLINK_GENERIC);
    }

    /**
     * Creates a kernel WireGuard interface (RTM_NEWLINK, kind "wireguard"); an existing WireGuard
     * interface of that name is fine.
     *
     * @throws IOException when the name is taken by a link of another kind (e.g. a userspace datapath's TUN)
     */
    public void createWireGuardLink(String name) throws IOException {
        try {
            exchange(ifinfo(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0, 0, 0).attr(IFLA_IFNAME, name)
                    .begin(IFLA_LINKINFO).attr(IFLA_INFO_KIND, "wireguard").end(), "create wireguard link " + name);
        } catch (NetlinkException e) {
            if (e.errno != NetlinkException.EEXIST) throw e;
            Link l = link(name);
            if (l != null && !"wireguard".equals(l.kind())) {
                throw new IOException("cannot create the WireGuard interface " + name + ": a link of kind " + (l.kind() == null ? "unknown" : l.kind())
                        + " has that name (a userspace datapath's TUN, or another program's link): remove it or choose another --interface");
            }
        }
    }

    private static Netlink open(int protocol) throws IOException {
        int fd = C.socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, protocol);
        if (fd < 0) throw new IOException("netlink socket: " + C.strerror(LibC.errno()));
        Pointer addr = Memory.allocateDirect(LibC.runtime(), 12, true);
        addr.putShort(0, (short) LibC.AF_NETLINK);
        if (C.bind(fd, addr, 12) < 0) {
            int err = LibC.errno();
            C.close(fd);
            throw new IOException("netlink bind: " + C.strerror(err));
        }
        Pointer tv = Memory.allocateDirect(LibC.runtime(), 16, true);
        tv.putLong(0, 5); // a kernel that never answers must not hang the daemon
        C.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, tv, 16);
        return new Netlink(fd);
    }

    /** Sends a request and returns the payloads of its replies (for dumps, all of them); throws on an error ack. */
    List<ByteBuffer> exchange(Message m, String what) throws IOException {
        int s = ++seq;
        ByteBuffer msg = m.finish(s);
        tx.clear();
        tx.put(msg).flip();
        if (C.send(fd, tx, tx.remaining(), 0) < 0) throw new IOException(what + ": send: " + C.strerror(LibC.errno()));
        List<ByteBuffer> replies = new ArrayList<>();
        while (true) {
            rx.clear();
            long n = C.recv(fd, rx, rx.capacity(), 0);
            if (n < 0) throw new IOException(what + ": recv: " + C.strerror(LibC.errno()));
            int off = 0;
            while (off + Message.HEADER <= n) {
                int len = rx.getInt(off);
                short type = rx.getShort(off + 4);
                short flags = rx.getShort(off + 6);
                int rseq = rx.getInt(off + 8);
                if (len < Message.HEADER) break;
                if (rseq == s) {
                    if (type == NLMSG_ERROR) {
                        int err = -rx.getInt(off + Message.HEADER);
                        if (err != 0) throw new NetlinkException(what, err);
                        return replies;
                    }
                    if (type == NLMSG_DONE) return replies;
                    ByteBuffer p = ByteBuffer.allocate(len - Message.HEADER).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < p.capacity(); i++) p.put(i, rx.get(off + Message.HEADER + i));
                    replies.add(p);
                    if ((flags & NLM_F_MULTI) == 0) return replies;
                }
                off += (len + 3) & ~3;
            }
        }
    }

    // ------------------------------------------------------------------ links

    /** A link as the kernel reports it; {@code kind} is IFLA_INFO_KIND ("wireguard", "tun", "veth", ...), null for none. */
    public record Link(int index, String name, byte[] mac, int mtu, boolean up, String kind) {
        public String macString() {
            StringBuilder sb = new StringBuilder();
            for (byte b : mac) sb.append(sb.length() > 0 ? ":" : "").append(String.format("%02x", b & 0xff));
            return sb.toString();
        }
    }

    private static Message ifinfo(short type, int flags, int index, int ifFlags, int change) {
        return new Message(type, flags).u8(0).u8(0).u16(0).u32(index).u32(ifFlags).u32(change);
    }

    /** Looks a link up by name; null when there is none. */
    public Link link(String name) throws IOException {
        try {
            List<ByteBuffer> r = exchange(ifinfo(RTM_GETLINK, NLM_F_REQUEST, 0, 0, 0).attr(IFLA_IFNAME, name), "get link " + name);
            return r.isEmpty() ? null : parseLink(r.get(0));
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ENODEV) return null;
            throw e;
        }
    }

    private static Link parseLink(ByteBuffer p) {
        int index = p.getInt(4);
        int flags = p.getInt(8);
        String name = null;
        byte[] mac = new byte[0];
        int mtu = 0;
        String kind = null;
        for (int off = 16; off + 4 <= p.capacity(); ) {
            int len = p.getShort(off) & 0xffff;
            int type = p.getShort(off + 2) & 0x3fff;
            if (len < 4) break;
            byte[] data = new byte[len - 4];
            for (int i = 0; i < data.length; i++) data[i] = p.get(off + 4 + i);
            if (type == IFLA_IFNAME) name = new String(data, 0, Math.max(0, data.length - 1), StandardCharsets.US_ASCII);
            else if (type == IFLA_ADDRESS) mac = data;
            else if (type == IFLA_MTU) mtu = ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).getInt();
            else if (type == IFLA_LINKINFO) kind = infoKind(data);
            off += (len + 3) & ~3;
        }
        return new Link(index, name, mac, mtu, (flags & IFF_UP) != 0, kind);
    }

    /** IFLA_INFO_KIND inside an IFLA_LINKINFO nest; null when absent (e.g. a physical interface). */
    static String infoKind(byte[] linkInfo) {
        ByteBuffer b = ByteBuffer.wrap(linkInfo).order(ByteOrder.nativeOrder());
        for (int off = 0; off + 4 <= b.capacity(); ) {
            int len = b.getShort(off) & 0xffff;
            int type = b.getShort(off + 2) & 0x3fff;
            if (len < 4 || off + len > b.capacity()) break;
            if (type == IFLA_INFO_KIND) {
                int end = off + len;
                while (end > off + 4 && linkInfo[end - 1] == 0) end--; // NUL-terminated
                return new String(linkInfo, off + 4, end - off - 4, StandardCharsets.US_ASCII);
            }
            off += (len + 3) & ~3;
        }
        return null;
    }

    /**
     * Creates a veth pair: {@code hostName} here, {@code peerName} directly inside the namespace
     * open as {@code peerNetnsFd}. Throws EEXIST when the host name is taken.
     */
    public void createVeth(String hostName, String peerName, int peerNetnsFd, int mtu) throws IOException {
        Message m = ifinfo(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0, 0, 0)
                .attr(IFLA_IFNAME, hostName).attr(IFLA_MTU, mtu)
                .begin(IFLA_LINKINFO).attr(IFLA_INFO_KIND, "veth")
                .begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER)
                .u8(0).u8(0).u16(0).u32(0).u32(0).u32(0)
                .attr(IFLA_IFNAME, peerName).attr(IFLA_MTU, mtu).attr(IFLA_NET_NS_FD, peerNetnsFd)
                .end().end().end();
        exchange(m, "create veth " + hostName + "/" + peerName);
    }

    public void setMtu(int index, int mtu) throws IOException {
        exchange(ifinfo(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, index, 0, 0).attr(IFLA_MTU, mtu), "set link " + index + " mtu " + mtu);
    }

    public void setUp(int index) throws IOException {
        exchange(ifinfo(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, index, IFF_UP, IFF_UP), "set link " + index + " up");
    }

    /** Deletes a link; false when it did not exist. */
    public boolean deleteLink(String name) throws IOException {
        Link l = link(name);
        if (l == null) return false;
        try {
            exchange(ifinfo(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, l.index(), 0, 0), "delete link " + name);
            return true;
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ENODEV) return false;
            throw e;
        }
    }

    // ------------------------------------------------------------------ addresses

    /** Adds {@code address/prefix} to a link (IPv6 without duplicate address detection). */
    public void addAddress(int index, InetAddress address, int prefix, int scope) throws IOException {
        byte[] a = address.getAddress();
        int family = a.length == 4 ? AF_INET : AF_INET6;
        Message m = new Message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
                .u8(family).u8(prefix).u8(family == AF_INET6 ? IFA_F_NODAD : 0).u8(scope).u32(index)
                .attr(IFA_LOCAL, a).attr(IFA_ADDRESS, a);
        exchange(m, "add address " + address.getHostAddress() + "/" + prefix);
    }

    /** The index of the link holding {@code address}, or 0 when no link holds it. */
    public int linkWithAddress(InetAddress address) throws IOException {
        byte[] want = address.getAddress();
        int family = want.length == 4 ? AF_INET : AF_INET6;
        List<ByteBuffer> replies = exchange(new Message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).u8(family).u8(0).u8(0).u8(0).u32(0), "list addresses");
        for (ByteBuffer p : replies) {
            int index = p.getInt(4);
            for (int off = 8; off + 4 <= p.capacity(); ) {
                int len = p.getShort(off) & 0xffff;
                int type = p.getShort(off + 2) & 0x3fff;
                if (len < 4) break;
                if ((type == IFA_LOCAL || type == IFA_ADDRESS) && len - 4 == want.length) {
                    boolean same = true;
                    for (int i = 0; i < want.length; i++) same &= p.get(off + 4 + i) == want[i];
                    if (same) return index;
                }
                off += (len + 3) & ~3;
            }
        }
        return 0;
    }

    /** The name of link {@code index}; null when there is none. */
    public String linkName(int index) throws IOException {
        try {
            List<ByteBuffer> r = exchange(ifinfo(RTM_GETLINK, NLM_F_REQUEST, index, 0, 0), "get link " + index);
            return r.isEmpty() ? null : parseLink(r.get(0)).name();
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ENODEV) return null;
            throw e;
        }
    }

    // ------------------------------------------------------------------ routes

    /**
     * Adds (or replaces) a route in the main table: {@code dst/dstLen} via {@code gateway} (may be
     * null) out of link {@code oif} (0 = any), of the given type (RTN_UNICAST, or RTN_UNREACHABLE for
     * a fail-closed blackhole), with {@code metric}.
     */
    public void replaceRoute(InetAddress dst, int dstLen, InetAddress gateway, int oif, int scope, int type, int metric)
            throws IOException {
        replaceRoute(RT_TABLE_MAIN, dst, dstLen, gateway, oif, scope, type, metric);
    }

    /** {@link #replaceRoute(InetAddress, int, InetAddress, int, int, int, int)} in routing table {@code table} (1..2^32-1). */
    public void replaceRoute(int table, InetAddress dst, int dstLen, InetAddress gateway, int oif, int scope, int type, int metric)
            throws IOException {
        replaceRoute(table, dst, dstLen, gateway, oif, scope, type, metric, null);
    }

    /**
     * {@link #replaceRoute(int, InetAddress, int, InetAddress, int, int, int, int)} with a preferred source address
     * ({@code prefsrc}, RTA_PREFSRC: the source of locally originated packets that do not choose one; it must be an
     * address of this host, of dst's family), or none when null.
     */
    public void replaceRoute(int table, InetAddress dst, int dstLen, InetAddress gateway, int oif, int scope, int type, int metric,
                             InetAddress prefsrc) throws IOException {
        byte[] d = dst.getAddress();
        int family = d.length == 4 ? AF_INET : AF_INET6;
        Message m = new Message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
                .u8(family).u8(dstLen).u8(0).u8(0).u8(headerTable(table)).u8(RTPROT_WIREMESH).u8(scope).u8(type).u32(0)
                .attr(RTA_DST, d).attr(RTA_TABLE, table);
        if (gateway != null) m.attr(RTA_GATEWAY, gateway.getAddress());
        if (oif != 0) m.attr(RTA_OIF, oif);
        if (metric != 0) m.attr(RTA_PRIORITY, metric);
        if (prefsrc != null) m.attr(RTA_PREFSRC, prefsrc.getAddress());
        exchange(m, "add route " + dst.getHostAddress() + "/" + dstLen + " table " + table + (prefsrc == null ? "" : " src " + prefsrc.getHostAddress()));
    }

    /** Table ids above 255 travel in RTA_TABLE only; the 8-bit header field says RT_TABLE_UNSPEC then (as iproute2 does). */
    private static int headerTable(int table) {
        return table > 0 && table < 256 ? table : 0;
    }

    /** A destination prefix and the route's preferred source address (null when it has none). */
    public record Route(InetAddress dst, int dstLen, InetAddress prefsrc) {}

    /** The unicast routes wiremesh made (its protocol number) out of link {@code oif} in the main table, both families. */
    public List<Route> routesOut(int oif) throws IOException {
        List<Route> out = new ArrayList<>();
        for (Dumped d : dump(RT_TABLE_MAIN)) {
            TableRoute r = d.route();
            if (r.type() == RTN_UNICAST && r.oif() == oif) out.add(new Route(r.dst(), r.dstLen(), d.prefsrc()));
        }
        return out;
    }

    /** A route wiremesh made: destination, type (RTN_*), output link (0 for none) and metric. */
    public record TableRoute(InetAddress dst, int dstLen, int type, int oif, int metric) {}

    /** Every route with wiremesh's protocol number in routing table {@code table}, both families. */
    public List<TableRoute> routes(int table) throws IOException {
        return dump(table).stream().map(Dumped::route).toList();
    }

    private record Dumped(TableRoute route, InetAddress prefsrc) {}

    private List<Dumped> dump(int table) throws IOException {
        List<Dumped> out = new ArrayList<>();
        for (int family : new int[] {AF_INET, AF_INET6}) {
            List<ByteBuffer> replies = exchange(new Message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP)
                    .u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0), "list routes");
            for (ByteBuffer p : replies) {
                int dstLen = p.get(1) & 0xff, rtmTable = p.get(4) & 0xff, protocol = p.get(5) & 0xff, type = p.get(7) & 0xff;
                if (protocol != RTPROT_WIREMESH) continue;
                byte[] dst = new byte[family == AF_INET ? 4 : 16];
                int linkIndex = 0, metric = 0, tableId = rtmTable;
                byte[] prefsrc = null;
                for (Attr a : Attr.parse(p, 12)) {
                    switch (a.type()) {
                        case RTA_DST -> dst = a.bytes();
                        case RTA_PREFSRC -> prefsrc = a.bytes();
                        case RTA_OIF -> linkIndex = a.data().getInt(0);
                        case RTA_PRIORITY -> metric = a.data().getInt(0);
                        case RTA_TABLE -> tableId = a.data().getInt(0);
                        default -> { }
                    }
                }
                if (tableId == table) out.add(new Dumped(new TableRoute(InetAddress.getByAddress(dst), dstLen, type, linkIndex, metric),
                        prefsrc == null ? null : InetAddress.getByAddress(prefsrc)));
            }
        }
        return out;
    }

    /** Deletes a route from the main table; false when it did not exist. */
    public boolean deleteRoute(InetAddress dst, int dstLen, int oif, int type, int metric) throws IOException {
        return deleteRoute(RT_TABLE_MAIN, dst, dstLen, oif, type, metric);
    }

    /** Deletes a route of wiremesh's from routing table {@code table}; false when it did not exist. */
    public boolean deleteRoute(int table, InetAddress dst, int dstLen, int oif, int type, int metric) throws IOException {
        byte[] d = dst.getAddress();
        int family = d.length == 4 ? AF_INET : AF_INET6;
        Message m = new Message(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK)
                .u8(family).u8(dstLen).u8(0).u8(0).u8(headerTable(table)).u8(RTPROT_WIREMESH).u8(RT_SCOPE_NOWHERE).u8(type).u32(0)
                .attr(RTA_DST, d).attr(RTA_TABLE, table);
        if (oif != 0) m.attr(RTA_OIF, oif);
        if (metric != 0) m.attr(RTA_PRIORITY, metric);
        try {
            exchange(m, "delete route " + dst.getHostAddress() + "/" + dstLen + " table " + table);
            return true;
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ESRCH || e.errno == NetlinkException.ENOENT) return false;
            throw e;
        }
    }

    // ------------------------------------------------------------------ policy rules

    /**
     * A policy rule wiremesh made: "from {@code src}/{@code srcLen} [fwmark {@code fwmark}/{@code fwmask}] lookup
     * {@code table}" at {@code priority} (ip-rule(8)). {@code srcLen} 0 is "from all" ({@code src} is then the
     * family's unspecified address, which only names the family); {@code fwmask} 0 matches any mark.
     */
    public record Rule(InetAddress src, int srcLen, int fwmark, int fwmask, int table, int priority) {
        /** "from src/srcLen lookup table" at priority. */
        public Rule(InetAddress src, int srcLen, int table, int priority) {
            this(src, srcLen, 0, 0, table, priority);
        }

        /** "from all fwmark mark/mask lookup table" at priority, for IPv6 when {@code v6}, else IPv4. */
        public static Rule fwmark(boolean v6, int mark, int mask, int table, int priority) {
            try {
                return new Rule(InetAddress.getByAddress(new byte[v6 ? 16 : 4]), 0, mark, mask, table, priority);
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public String toString() {
            return "from " + (srcLen == 0 ? "all" : src.getHostAddress() + "/" + srcLen)
                    + (fwmask == 0 ? "" : String.format(" fwmark 0x%x/0x%x", fwmark, fwmask)) + " lookup " + table + " priority " + priority;
        }
    }

    /** The rule's header and selectors (source, mark), as RTM_NEWRULE and RTM_DELRULE take them. */
    private Message rule(short type, int flags, Rule r) {
        byte[] s = r.src().getAddress();
        int family = s.length == 4 ? AF_INET : AF_INET6;
        Message m = new Message(type, flags)
                .u8(family).u8(0).u8(r.srcLen()).u8(0).u8(headerTable(r.table())).u8(0).u8(0).u8(FR_ACT_TO_TBL).u32(0);
        if (r.srcLen() > 0) m.attr(FRA_SRC, s);
        if (r.fwmask() != 0) m.attr(FRA_FWMARK, r.fwmark()).attr(FRA_FWMASK, r.fwmask());
        return m.attr(FRA_PRIORITY, r.priority()).attr(FRA_TABLE, r.table());
    }

    /**
     * Adds the policy rule {@code r}, marked with wiremesh's protocol number (FRA_PROTOCOL, Linux 4.17+) so it
     * is recognisably ours; an identical rule is fine.
     */
    public void addRule(Rule r) throws IOException {
        Message m = rule(RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, r).attr8(FRA_PROTOCOL, RTPROT_WIREMESH);
        try {
            exchange(m, "add rule " + r);
        } catch (NetlinkException e) {
            if (e.errno != NetlinkException.EEXIST) throw e;
        }
    }

    /** Deletes a policy rule; false when there was none. */
    public boolean deleteRule(Rule r) throws IOException {
        try {
            exchange(rule(RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, r), "delete rule " + r);
            return true;
        } catch (NetlinkException e) {
            if (e.errno == NetlinkException.ENOENT || e.errno == NetlinkException.ESRCH) return false;
            throw e;
        }
    }

    /** The policy rules carrying wiremesh's protocol number, both families. */
    public List<Rule> rules() throws IOException {
        List<Rule> out = new ArrayList<>();
        for (int family : new int[] {AF_INET, AF_INET6}) {
            List<ByteBuffer> replies = exchange(new Message(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP)
                    .u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0), "list rules");
            for (ByteBuffer p : replies) {
                int srcLen = p.get(2) & 0xff, table = p.get(4) & 0xff;
                byte[] src = new byte[family == AF_INET ? 4 : 16];
                int priority = 0, protocol = 0, fwmark = 0, fwmask = 0;
                boolean hasMark = false, hasMask = false;
                for (Attr a : Attr.parse(p, 12)) {
                    switch (a.type()) {
                        case FRA_SRC -> src = a.bytes();
                        case FRA_PRIORITY -> priority = a.data().getInt(0);
                        case FRA_TABLE -> table = a.data().getInt(0);
                        case FRA_PROTOCOL -> protocol = a.data().get(0) & 0xff;
                        case FRA_FWMARK -> { fwmark = a.data().getInt(0); hasMark = true; }
                        case FRA_FWMASK -> { fwmask = a.data().getInt(0); hasMask = true; }
                        default -> { }
                    }
                }
                // The kernel leaves the mask out when it is all ones.
                if (hasMark && !hasMask) fwmask = -1;
                if (protocol == RTPROT_WIREMESH) out.add(new Rule(InetAddress.getByAddress(src), srcLen, fwmark, fwmask, table, priority));
            }
        }
        return out;
    }

    /** Closes the socket once; later calls do nothing (the number may belong to another file by then). */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        C.close(fd);
    }

    private boolean closed;
}
