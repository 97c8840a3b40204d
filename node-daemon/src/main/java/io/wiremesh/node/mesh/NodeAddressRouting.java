package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.egress.MasqueradeTable;
import io.wiremesh.node.netlink.Netlink;
import java.io.IOException;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Pods reach other nodes' own addresses (kubelet, hostNetwork pods, an API server on a node) through
 * the tunnel, with their own source address, never in clear on the underlay:
 * <pre>
 *   ip rule  from all fwmark 0x100000/0x100000 lookup main priority 5179   (replies of Services, below)
 *   ip rule  from &lt;the mesh's pod pools, the peer pools&gt; lookup 51820 priority 5180
 *   table 51820:  &lt;node address&gt;/32 dev wiremesh0          (into the tunnel)
 *                 unreachable &lt;node address&gt;/32 metric 4096  (fail closed when the interface is gone)
 * </pre>
 * Only traffic from pod and peer sources is steered: the node's own traffic, its WireGuard UDP
 * included, stays on the main table, so nothing loops. Addresses not in the table fall through to
 * the main table (the table has no default route). A pod's reply to a node that reached it through a
 * NodePort, hostPort or other DNAT of this node is not pod traffic on the wire: it leaves with the
 * address the node dialled as its source, back the way the request came (the underlay); the
 * masquerade table marks such replies ({@link MasqueradeTable#SERVICE_REPLY_MARK}) and the first rule
 * keeps them on the main table. Rules and routes carry wiremesh's protocol number, so they are found
 * again after a restart and removed at the end of membership.
 */
public final class NodeAddressRouting {
    /** The routing table holding routes to other mesh nodes' addresses (the WireGuard port number, easy to recognise). */
    public static final int TABLE = 51820;
    /** Before the main table's rule (32766), after the local table's (0). */
    public static final int PRIORITY = 5180;
    /** The rule that keeps marked Service replies on the main table: just before {@link #PRIORITY}. */
    public static final int SERVICE_REPLY_PRIORITY = PRIORITY - 1;
    private static final int RT_TABLE_MAIN = 254;
    private final Netlink nl;
    private final String ifname;

    public NodeAddressRouting(Netlink nl, String ifname) {
        this.nl = nl;
        this.ifname = ifname;
    }

    /**
     * Makes the rules equal to "from each of {@code sources} lookup {@link #TABLE}" and the table equal to
     * {@code nodes} routed into the WireGuard interface (each also with a fail-closed unreachable route).
     * Adds before it removes, so a change never opens a gap.
     *
     * @throws IOException when the kernel refuses a change; the WireGuard interface may be absent (then only
     *                     the unreachable routes are installed)
     */
    public synchronized void apply(List<Cidr> sources, List<Cidr> nodes) throws IOException {
        Netlink.Link link = nl.link(ifname);
        Set<Netlink.TableRoute> want = new HashSet<>();
        for (Cidr n : nodes) {
            InetAddress a = InetAddress.getByName(n.address(0));
            want.add(new Netlink.TableRoute(a, n.bits(), Netlink.RTN_UNREACHABLE, 0, MeshRouting.FAIL_CLOSED_METRIC));
            if (link != null) want.add(new Netlink.TableRoute(a, n.bits(), Netlink.RTN_UNICAST, link.index(), 0));
        }
        // The kernel reports IPv6 routes with its own defaults (metric 1024, unreachable on lo): compare what we set.
        java.util.Map<Netlink.TableRoute, Netlink.TableRoute> have = new java.util.HashMap<>();
        for (Netlink.TableRoute r : nl.routes(TABLE)) have.put(comparable(r), r);
        for (Netlink.TableRoute r : want) {
            if (have.containsKey(r)) continue;
            nl.replaceRoute(TABLE, r.dst(), r.dstLen(), null, r.oif(), r.type() == Netlink.RTN_UNICAST ? Netlink.RT_SCOPE_LINK
                    : Netlink.RT_SCOPE_UNIVERSE, r.type(), r.metric());
        }
        Set<Netlink.Rule> wantRules = new HashSet<>();
        for (Cidr s : sources) {
            wantRules.add(new Netlink.Rule(InetAddress.getByName(s.address(0)), s.bits(), TABLE, PRIORITY));
            wantRules.add(Netlink.Rule.fwmark(s.v6(), MasqueradeTable.SERVICE_REPLY_MARK, MasqueradeTable.SERVICE_REPLY_MARK,
                    RT_TABLE_MAIN, SERVICE_REPLY_PRIORITY));
        }
        Set<Netlink.Rule> haveRules = new HashSet<>(nl.rules());
        for (Netlink.Rule r : wantRules) if (!haveRules.contains(r)) nl.addRule(r);
        for (Netlink.Rule r : haveRules) if (!wantRules.contains(r)) nl.deleteRule(r);
        for (var e : have.entrySet()) {
            Netlink.TableRoute r = e.getValue();
            if (!want.contains(e.getKey())) nl.deleteRoute(TABLE, r.dst(), r.dstLen(), r.oif(), r.type(), r.metric());
        }
    }

    /** A route as {@link #apply} describes it: unicast routes by link, unreachable ones by metric. */
    private static Netlink.TableRoute comparable(Netlink.TableRoute r) {
        return r.type() == Netlink.RTN_UNICAST ? new Netlink.TableRoute(r.dst(), r.dstLen(), r.type(), r.oif(), 0)
                : new Netlink.TableRoute(r.dst(), r.dstLen(), r.type(), 0, r.metric());
    }

    /** Removes every rule and route this class made (end of membership, uninstall). */
    public synchronized void remove() throws IOException {
        for (Netlink.Rule r : nl.rules()) nl.deleteRule(r);
        for (Netlink.TableRoute r : nl.routes(TABLE)) nl.deleteRoute(TABLE, r.dst(), r.dstLen(), r.oif(), r.type(), r.metric());
    }
}
