package io.wiremesh.node.egress;

import io.wiremesh.api.net.Cidr;
import java.util.List;
import java.util.stream.Collectors;

/**
 * wiremesh's own nftables table ({@code inet wiremesh}): a NAT chain on the postrouting hook that
 * masquerades traffic from the mesh's pod and peer pools to anything outside the mesh, unless it
 * leaves through the WireGuard interface; a forward chain that drops pod traffic for a peer node's
 * address unless it leaves through the tunnel; a mark on pods' replies to connections this node
 * DNATed to them from a node address (NodePort, hostPort, externalIPs), which leave with the
 * address the client dialled as their source and so go back on the underlay, as the request came
 * (the policy rule for pod traffic to node addresses skips them: NodeAddressRouting); and a strict
 * reverse-path check of pod sources before DNAT (a pod address is accepted only on the interface its
 * route points at: a pod's veth or the tunnel, never the underlay). Rendered as one {@code nft -f} transaction that replaces
 * only this table (declare, delete, re-create: atomic, no moment without rules) and touches no other
 * table — kube-proxy's and portmap's iptables-nft tables live beside it, each with its own base chain.
 * The table's comment carries a digest of its content, so an unchanged table is never rewritten,
 * also across daemon restarts. Pure: rendering only, no I/O.
 */
public final class MasqueradeTable {
    /** The table's family and name, as nft writes them. */
    public static final String TABLE = "inet wiremesh";
    /**
     * The packet mark (one bit) of a pod's reply to a connection that was DNATed to it and came from
     * outside the mesh's pools: it leaves with the original destination (a node address and port) as its
     * source. Clear of kube-proxy's bits (0x4000 masquerade, 0x8000 drop).
     */
    public static final int SERVICE_REPLY_MARK = 0x100000;

    private MasqueradeTable() {}

    /**
     * The nft script that makes the table match {@code plan} (with masquerading off: the fail-closed chains
     * without the NAT chain).
     * The first line is a comment naming the digest the table will carry ({@link #digest}).
     *
     * @param tunnel the WireGuard interface (traffic leaving through it keeps its source)
     */
    public static String script(EgressPlan plan, String tunnel) {
        StringBuilder body = new StringBuilder();
        StringBuilder nat = new StringBuilder(), forward = new StringBuilder(), serviceReplies = new StringBuilder(),
                reversePath = new StringBuilder();
        String mark = String.format("0x%x", SERVICE_REPLY_MARK);
        for (boolean v6 : new boolean[] {false, true}) {
            List<Cidr> src = EgressPlan.family(plan.sources(), v6), keep = EgressPlan.family(plan.inMesh(), v6);
            if (src.isEmpty()) continue;
            List<Cidr> remote = EgressPlan.family(plan.remoteNodes(), v6);
            String f = v6 ? "6" : "4", type = v6 ? "ipv6_addr" : "ipv4_addr", ip = v6 ? "ip6" : "ip";
            set(body, "sources" + f, type, src);
            set(body, "mesh" + f, type, keep);
            if (!remote.isEmpty()) set(body, "nodes" + f, type, remote);
            nat.append("    ").append(ip).append(" saddr @sources").append(f).append(' ').append(ip).append(" daddr != @mesh").append(f)
                    .append(" masquerade fully-random\n");
            // A reply from a pod to a client outside the pools whose connection was DNATed here (a node reaching a
            // NodePort or hostPort of this node): after un-DNAT its source is the address the client dialled, so it
            // is not pod traffic on the wire and goes back the way the request came.
            // Only when what the client dialled is outside the pools too (a node address): a client that dialled an
            // overlay address (a pool address, reached through the tunnel) gets its reply through the tunnel.
            serviceReplies.append("    ct direction reply ct status dnat ").append(ip).append(" saddr @sources").append(f)
                    .append(" ct original ").append(ip).append(" saddr != @sources").append(f)
                    .append(" ct original ").append(ip).append(" daddr != @sources").append(f)
                    .append(" meta mark set meta mark or ").append(mark).append('\n');
            // Fail closed also here: pod traffic for a peer node's address leaves only through the tunnel (a
            // missing policy rule, or a flow conntrack still sends the old way, is dropped, never sent in clear).
            if (!remote.isEmpty()) {
                forward.append("    ").append(ip).append(" saddr @sources").append(f).append(' ').append(ip).append(" daddr @nodes").append(f)
                        .append(" oifname != \"").append(tunnel).append("\" meta mark & ").append(mark).append(" == 0 drop\n");
            }
            // Strict reverse path for pod sources: a pod address is accepted only on the interface its route points
            // at (a veth, or the tunnel). Before DNAT, so the reverse lookup's source is the address the sender
            // dialled (the kernel's rp_filter looks after DNAT, when a NodePort's pod address would follow our
            // policy rule into the tunnel: MeshRouting.looseReversePathOn).
            reversePath.append("    ").append(ip).append(" saddr @sources").append(f).append(" fib saddr . iif oif missing drop\n");
        }
        if (plan.masquerade()) {
            body.append("  chain postrouting {\n")
                    // After iptables' own nat chains (kube-proxy, ip-masq-agent), deterministically: the first NAT wins.
                    .append("    type nat hook postrouting priority srcnat + 10; policy accept;\n")
                    .append("    oifname \"").append(tunnel).append("\" return\n")
                    .append(nat)
                    .append("  }\n");
        }
        if (forward.length() > 0) {
            body.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n").append(forward).append("  }\n");
        }
        if (serviceReplies.length() > 0 || reversePath.length() > 0) {
            // After conntrack (-200), before DNAT (-100) and the routing decision that reads the mark.
            body.append("  chain prerouting {\n    type filter hook prerouting priority mangle; policy accept;\n")
                    .append(reversePath).append(serviceReplies).append("  }\n");
        }
        return Nft.replacing(TABLE, body.toString());
    }

    /** The script that removes the table if it exists (declaring it first makes the delete never fail). */
    public static String removal() {
        return Nft.removal(TABLE);
    }

    /** The digest a script made by {@link #script} gives its table, or null for a removal. */
    public static String digest(String script) {
        return script.startsWith("# ") ? script.substring(2, script.indexOf('\n')) : null;
    }

    private static void set(StringBuilder body, String name, String type, List<Cidr> elements) {
        body.append("  set ").append(name).append(" { type ").append(type).append("; flags interval; elements = { ")
                .append(elements(elements)).append(" }; }\n");
    }

    private static String elements(List<Cidr> cidrs) {
        return cidrs.stream().map(c -> c.bits() == c.totalBits() ? c.address(0) : c.toString()).collect(Collectors.joining(", "));
    }

}
