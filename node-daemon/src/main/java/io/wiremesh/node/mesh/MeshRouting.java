package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.netlink.Netlink;
import java.io.IOException;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The node's routes into the mesh: its overlay address on the WireGuard interface, one route per
 * remote node block through that interface, and — fail closed — an unreachable route for every
 * mesh pool at a low priority, so pod traffic for another node can never fall back to the
 * underlay in plaintext when that node's route is missing.
 */
public final class MeshRouting implements NodePorts.RoutePort {
    static final int FAIL_CLOSED_METRIC = 4096;
    private final Netlink nl;
    private final String ifname;
    private final java.nio.file.Path procSysNet;
    private final Set<Cidr> routed = new HashSet<>();
    private InetAddress source4, source6;
    private final Set<Cidr> stale = new HashSet<>();

    public MeshRouting(Netlink nl, String ifname, java.nio.file.Path procSysNet) {
        this.nl = nl;
        this.ifname = ifname;
        this.procSysNet = procSysNet;
    }

    private int index() throws IOException {
        Netlink.Link l = nl.link(ifname);
        if (l == null) throw new IOException("WireGuard interface " + ifname + " does not exist (is the datapath running?)");
        return l.index();
    }

    /**
     * The fail-closed routes: {@code unreachable <pool> metric 4096} for every mesh pool (pod and peer
     * pools, both families). They need no interface, so they are installed first, before the CNI socket
     * and the conflist exist and whether or not the datapath is there: until a more specific route
     * through the tunnel exists, pod traffic for the mesh is refused, never sent in clear. Idempotent
     * (replace), so it is also re-asserted while the daemon runs; the route of a pool that is no longer
     * in {@code pools} (a mesh edit) is removed.
     */
    @Override
    public synchronized void failClosed(List<Cidr> pools) throws IOException {
        Set<Cidr> present = new HashSet<>();
        for (Netlink.TableRoute r : nl.routes(Netlink.RT_TABLE_MAIN)) {
            if (r.type() == Netlink.RTN_UNREACHABLE && r.metric() == FAIL_CLOSED_METRIC) present.add(Cidr.parse(r.dst().getHostAddress() + "/" + r.dstLen()));
        }
        List<String> refused = new java.util.ArrayList<>();
        for (Cidr pool : pools) {
            if (present.contains(pool)) continue; // replacing an IPv6 route would notify every listener each time
            try { // each pool on its own: one the kernel refuses (IPv6 disabled) leaves none of the others uncovered
                nl.replaceRoute(InetAddress.getByName(pool.address(0)), pool.bits(), null, 0,
                        Netlink.RT_SCOPE_UNIVERSE, Netlink.RTN_UNREACHABLE, FAIL_CLOSED_METRIC);
            } catch (IOException e) {
                refused.add(pool + ": " + e.getMessage());
            }
        }
        // A pool the mesh no longer has (an edit of podCIDRs or peerCIDRs): its route is ours (our protocol), remove it.
        for (Cidr stale : present) {
            if (!pools.contains(stale)) nl.deleteRoute(InetAddress.getByName(stale.address(0)), stale.bits(), 0, Netlink.RTN_UNREACHABLE, FAIL_CLOSED_METRIC);
        }
        if (!refused.isEmpty()) throw new IOException("unreachable routes refused for " + refused);
    }

    /** Addresses, MTU and link state of the WireGuard interface (and the fail-closed routes again). */
    @Override
    public synchronized void setUp(List<String> overlayAddresses, int mtu, List<Cidr> pools) throws IOException {
        int idx = index();
        // A new interface has none of our routes; one that outlived a restart of this daemon has some,
        // and those whose node left meanwhile must go too. One without the wanted source is written again.
        routed.clear();
        stale.clear();
        for (Netlink.Route r : nl.routesOut(idx)) {
            Cidr c = Cidr.parse(r.dst().getHostAddress() + "/" + r.dstLen());
            routed.add(c);
            if (!java.util.Objects.equals(r.prefsrc(), c.v6() ? source6 : source4)) stale.add(c);
        }
        nl.setMtu(idx, mtu);
        for (String a : overlayAddresses) {
            InetAddress ip = InetAddress.getByName(a);
            nl.addAddress(idx, ip, ip.getAddress().length == 4 ? 32 : 128, Netlink.RT_SCOPE_UNIVERSE);
        }
        nl.setUp(idx);
        failClosed(pools);
    }

    /** The MTU of the underlay interface (the one holding {@code nodeIp}): the WireGuard interface's less the overhead ({@link NodePlan}). */
    public int underlayMtu(String nodeIp) throws IOException {
        int idx = nl.linkWithAddress(InetAddress.getByName(nodeIp));
        if (idx == 0) throw new IOException("no interface holds the node address " + nodeIp + ": check --node-ip");
        return nl.link(nl.linkName(idx)).mtu();
    }

    /**
     * Loose reverse-path filtering (rp_filter 2) on the underlay interface (the one holding the node's
     * address). The strict check of pod sources is the masquerade table's (a packet that arrives there
     * claiming a mesh pod address is dropped unless its reverse route leads back through the interface it
     * came in on: only the tunnel and the pods' own veths qualify), made before DNAT. The kernel's strict
     * mode (1) cannot be used: it checks after DNAT, with the pod address a NodePort or hostPort led to as
     * the source of its reverse lookup, which wiremesh's own policy rule sends into the tunnel, so every
     * other node's request to this node's NodePort with a local endpoint was dropped. Loose mode is set
     * rather than left alone so that a node where an earlier version set strict mode is repaired.
     *
     * @return the underlay interface's name
     * @throws IOException when no interface holds {@code nodeIp} or the sysctl cannot be written
     */
    public String looseReversePathOn(String nodeIp) throws IOException {
        int idx = nl.linkWithAddress(InetAddress.getByName(nodeIp));
        if (idx == 0) throw new IOException("no interface holds the node address " + nodeIp + ": check --node-ip");
        String name = nl.linkName(idx);
        java.nio.file.Files.writeString(procSysNet.resolve("ipv4/conf/" + name + "/rp_filter"), "2");
        return name;
    }

    /**
     * The node's own traffic into the mesh leaves with its node address ({@code nodeAddresses}, the first of each
     * family; the routes to remote blocks carry it as their preferred source) instead of its overlay address. Peers
     * accept the node address from this node's tunnel (it is in its AllowedIPs) and route their pods' answers to it
     * back through the tunnel. What this is for: a host-network UDP server answering a remote pod from a socket bound
     * to every address answers from the route's source, and the pod (or the conntrack entry of the Service that led
     * there) expects the node address it dialled; with the overlay address the answer was lost (the e2e test
     * {@code service endpoints using hostNetwork}). Takes effect on the next {@link #route} of each block.
     */
    @Override
    public synchronized void preferSource(List<String> nodeAddresses) throws IOException {
        InetAddress v4 = null, v6 = null;
        for (String a : nodeAddresses == null ? List.<String>of() : nodeAddresses) {
            InetAddress ip = InetAddress.getByName(a);
            if (ip.getAddress().length == 4 && v4 == null) v4 = ip;
            if (ip.getAddress().length == 16 && v6 == null) v6 = ip;
        }
        if (!java.util.Objects.equals(v4, source4) || !java.util.Objects.equals(v6, source6)) stale.addAll(routed); // rewrite every route
        source4 = v4;
        source6 = v6;
    }

    /** Routes exactly {@code blocks} (remote nodes' blocks) through the WireGuard interface, with the node's address as source. */
    @Override
    public synchronized void route(Set<Cidr> blocks) throws IOException {
        int idx = index();
        for (Cidr b : blocks) {
            if (routed.contains(b) && !stale.contains(b)) continue;
            nl.replaceRoute(Netlink.RT_TABLE_MAIN, InetAddress.getByName(b.address(0)), b.bits(), null, idx, Netlink.RT_SCOPE_LINK,
                    Netlink.RTN_UNICAST, 0, b.v6() ? source6 : source4);
            routed.add(b);
            stale.remove(b);
        }
        for (Cidr b : Set.copyOf(routed)) {
            if (blocks.contains(b)) continue;
            nl.deleteRoute(InetAddress.getByName(b.address(0)), b.bits(), idx, Netlink.RTN_UNICAST, 0);
            routed.remove(b);
            stale.remove(b);
        }
    }
}
