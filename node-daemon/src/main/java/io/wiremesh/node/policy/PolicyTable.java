package io.wiremesh.node.policy;

import java.util.List;
import java.util.Map;

/**
 * wiremesh's NetworkPolicy table ({@code inet wiremesh-policy}) as one {@code nft -f} transaction that replaces only
 * this table (declare, delete, re-create: atomic, never a moment with half the rules or none). A table of its own,
 * beside the masquerade table ({@code inet wiremesh}): the two change for different reasons (pods and policies here,
 * members and pools there) and each is rewritten only when its own digest changes.
 * <p>
 * Base chains, each ending its own decision only (an accept in one does not skip the next):
 * <ul>
 *   <li>{@code pod-sources} (prerouting, raw): a packet from the veth of a pod wired here (by name: other interfaces,
 *       whatever their name, are not looked at) must carry one of that pod's
 *       addresses (or IPv6 link-local/unspecified, for neighbour discovery); else dropped.</li>
 *   <li>{@code egress} (forward, filter - 1) and {@code egress-to-node} (input): replies of accepted connections pass
 *       (conntrack); a new connection from an isolated pod of this node goes through its pod chain.</li>
 *   <li>{@code ingress} (forward, filter + 1): likewise for new connections to an isolated pod of this node. Connections
 *       the node itself opens (kubelet probes) go out on the output hook, which no chain here holds.</li>
 * </ul>
 * Pure: rendering only.
 */
public final class PolicyTable {
    /** The table's family and name, as nft writes them. */
    public static final String TABLE = "inet wiremesh-policy";
    /**
     * The named counter of packets dropped because a pod sent them from an address not its own; each pod chain has a
     * named counter of its own (its name), of the new connections its policies did not allow.
     */
    public static final String SPOOFED = "spoofed";

    private PolicyTable() {}

    /**
     * The script that makes the table hold {@code policy}; its first line is a comment naming the table's digest.
     *
     * @param tunnel the WireGuard interface, never taken for a pod's veth whatever its name
     */
    public static String script(PolicyPlan.NodePolicy policy, String tunnel) {
        StringBuilder b = new StringBuilder();
        List<String> bind4 = new java.util.ArrayList<>(), bind6 = new java.util.ArrayList<>();
        for (var e : policy.bindings().entrySet()) {
            for (String ip : e.getValue()) (ip.indexOf(':') >= 0 ? bind6 : bind4).add('"' + e.getKey() + "\" . " + ip);
        }
        List<String> veths = policy.bindings().keySet().stream().map(v -> '"' + v + '"').toList();
        b.append("  set pod-veths { type ifname;").append(elements(veths)).append(" }\n");
        b.append("  set pod-addresses4 { type ifname . ipv4_addr;").append(elements(bind4)).append(" }\n");
        b.append("  set pod-addresses6 { type ifname . ipv6_addr;").append(elements(bind6)).append(" }\n");
        map(b, "ingress4", "ipv4_addr", policy.ingress(), false);
        map(b, "ingress6", "ipv6_addr", policy.ingress(), true);
        map(b, "egress4", "ipv4_addr", policy.egress(), false);
        map(b, "egress6", "ipv6_addr", policy.egress(), true);
        for (var e : policy.sets().entrySet()) {
            PolicyPlan.NftSet s = e.getValue();
            b.append("  set ").append(e.getKey()).append(" { type ").append(s.type()).append(';');
            if (s.interval()) b.append(" flags interval;");
            if (!s.elements().isEmpty()) b.append(" elements = { ").append(String.join(", ", s.elements())).append(" };");
            b.append(" }\n");
        }
        for (var e : policy.policyChains().entrySet()) {
            b.append("  chain ").append(e.getKey()).append(" {\n    comment \"").append(e.getValue().comment()).append("\"\n");
            for (String line : e.getValue().lines()) b.append("    ").append(line).append('\n');
            b.append("  }\n");
        }
        b.append("  counter ").append(SPOOFED).append(" {}\n");
        for (var e : policy.podChains().entrySet()) {
            b.append("  counter ").append(e.getKey()).append(" {}\n");
            b.append("  chain ").append(e.getKey()).append(" {\n");
            for (String target : e.getValue().policies()) b.append("    jump ").append(target).append('\n');
            b.append("    counter name \"").append(e.getKey()).append("\" drop\n  }\n");
        }
        b.append("  chain pod-sources {\n    type filter hook prerouting priority raw; policy accept;\n")
                .append("    iifname != @pod-veths accept\n")
                .append("    iifname \"").append(tunnel).append("\" accept\n")
                .append("    iifname . ip saddr @pod-addresses4 accept\n")
                .append("    iifname . ip6 saddr @pod-addresses6 accept\n")
                .append("    ip6 saddr { ::, fe80::/10 } accept\n")
                .append("    counter name \"").append(SPOOFED).append("\" drop\n  }\n");
        b.append("  chain egress {\n    type filter hook forward priority filter - 1; policy accept;\n")
                .append("    ct state established,related accept\n")
                .append("    ip saddr vmap @egress4\n    ip6 saddr vmap @egress6\n  }\n");
        b.append("  chain egress-to-node {\n    type filter hook input priority filter - 1; policy accept;\n")
                .append("    ct state established,related accept\n")
                .append("    iifname @pod-veths ip saddr vmap @egress4\n")
                .append("    iifname @pod-veths ip6 saddr vmap @egress6\n  }\n");
        b.append("  chain ingress {\n    type filter hook forward priority filter + 1; policy accept;\n")
                .append("    ct state established,related accept\n")
                .append("    ip daddr vmap @ingress4\n    ip6 daddr vmap @ingress6\n  }\n");
        return io.wiremesh.node.egress.Nft.replacing(TABLE, b.toString());
    }

    /** The script that removes the table if it exists. */
    public static String removal() {
        return io.wiremesh.node.egress.Nft.removal(TABLE);
    }

    private static String elements(List<String> list) {
        return list.isEmpty() ? "" : " elements = { " + String.join(", ", list) + " };";
    }

    private static void map(StringBuilder b, String name, String type, Map<String, String> verdicts, boolean v6) {
        b.append("  map ").append(name).append(" { type ").append(type).append(" : verdict;");
        List<String> entries = verdicts.entrySet().stream().filter(e -> (e.getKey().indexOf(':') >= 0) == v6)
                .map(e -> e.getKey() + " : " + (e.getValue().equals(PolicyPlan.DROP) ? "drop" : "goto " + e.getValue())).toList();
        if (!entries.isEmpty()) b.append(" elements = { ").append(String.join(", ", entries)).append(" };");
        b.append(" }\n");
    }

}
