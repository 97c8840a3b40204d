package io.wiremesh.node.wg;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.netlink.Netlink;
import io.wiremesh.node.netlink.WireGuardGenl;
import io.wiremesh.wireguard.crypto.Keys;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel WireGuard module, driven over generic netlink (the {@code wg} tool's API). The daemon
 * creates the interface itself (no datapath process). Checked against the real module in a VM
 * ({@code KernelGenlIT}). Thread-safe: one netlink socket each for rtnetlink and generic netlink,
 * shared by the node agent's passes, its peer report and the metrics scrape.
 */
public final class KernelDevice implements WireGuardDevice {
    private final String ifname;
    private final Netlink route;
    private final WireGuardGenl genl;
    /** Closed by a datapath switch: a caller that read this device just before must not use its sockets. */
    private boolean closed;
    /** The index of the interface last seen configured (0: none); indexes are not reused soon after a deletion. */
    private int configuredIndex;

    public KernelDevice(String ifname) throws IOException {
        this.ifname = ifname;
        this.route = Netlink.open();
        this.genl = WireGuardGenl.open();
    }

    private void ensureOpen() throws IOException {
        if (closed) throw new IOException("the kernel datapath of " + ifname + " was switched away");
    }

    @Override
    public String kind() {
        return "kernel";
    }

    @Override
    public synchronized void configure(byte[] privateKey, int listenPort) throws IOException {
        ensureOpen();
        route.createWireGuardLink(ifname);
        genl.configure(ifname, privateKey, listenPort);
    }

    /**
     * The interface exists, is up and has a private key. Up matters here: the kernel refuses to bring a
     * WireGuard interface up while its port is still bound (e.g. by a userspace datapath that is still
     * exiting after a switch), and the caller's retry must then try again. The key is read (a dump of
     * every peer) only for an interface not seen configured before: a re-created one has a new index.
     */
    @Override
    public synchronized boolean configured() {
        if (closed) return false;
        try {
            Netlink.Link link = route.link(ifname);
            if (link == null || !link.up()) return false;
            if (link.index() == configuredIndex) return true;
            byte[] k = genl.device(ifname).privateKey();
            boolean ok = k != null && !Keys.isZero(k);
            if (ok) configuredIndex = link.index();
            return ok;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public synchronized void upsertPeer(PeerConfig p, PeerState current) throws IOException {
        ensureOpen();
        List<WireGuardGenl.AllowedIp> want = null;
        if (!WireGuardDevice.sameAllowedIps(current, p.allowedIps())) {
            want = new ArrayList<>();
            for (String c : p.allowedIps()) {
                Cidr cidr = Cidr.parse(c);
                want.add(new WireGuardGenl.AllowedIp(InetAddress.getByName(cidr.address(0)), cidr.bits()));
            }
        }
        // No key wanted but one set: all zeros removes it (omitting the attribute would keep it).
        byte[] psk = p.presharedKey() != null ? Keys.fromBase64(p.presharedKey())
                : current != null && current.presharedKey() != null ? new byte[32] : null;
        genl.setPeer(ifname, Keys.fromBase64(p.publicKey()), psk, endpoint(p.endpoint()), want, p.persistentKeepalive());
    }

    static InetSocketAddress endpoint(String hostPort) {
        if (hostPort == null) return null;
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
        return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
    }

    @Override
    public synchronized void removePeer(String publicKey) throws IOException {
        ensureOpen();
        genl.removePeer(ifname, Keys.fromBase64(publicKey));
    }

    @Override
    public synchronized List<PeerState> peers() throws IOException {
        ensureOpen();
        List<PeerState> out = new ArrayList<>();
        for (WireGuardGenl.Peer p : genl.device(ifname).peers()) {
            List<String> ips = p.allowedIps().stream().map(a -> Cidr.parse(a.address().getHostAddress() + "/" + a.bits()).toString()).toList();
            String ep = p.endpoint() == null ? null : io.wiremesh.wireguard.uapi.Uapi.formatEndpoint(p.endpoint());
            String psk = p.presharedKey() == null || Keys.isZero(p.presharedKey()) ? null : Keys.toBase64(p.presharedKey());
            out.add(new PeerState(Keys.toBase64(p.publicKey()), ep, ips, p.lastHandshakeSeconds(), p.rxBytes(), p.txBytes(),
                    p.persistentKeepalive(), psk));
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        genl.close();
        route.close();
    }
}
