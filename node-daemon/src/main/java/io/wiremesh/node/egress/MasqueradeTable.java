package io.wiremesh.node.egress;

import io.wiremesh.api.net.Cidr;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;

/**
 * wiremesh's own nftables table ({@code inet wiremesh}): one NAT chain on the postrouting hook that
 * masquerades traffic from the mesh's pod and peer pools to anything outside the mesh, unless it
 * leaves through the WireGuard interface. Rendered as one {@code nft -f} transaction that replaces
 * only this table (declare, delete, re-create: atomic, no moment without rules) and touches no other
 * table — kube-proxy's and portmap's iptables-nft tables live beside it, each with its own base chain.
 * The table's comment carries a digest of its content, so an unchanged table is never rewritten,
 * also across daemon restarts. Pure: rendering only, no I/O.
 */
public final class MasqueradeTable {
    /** The table's family and name, as nft writes them. */
    public static final String TABLE = "inet wiremesh";

    private MasqueradeTable() {}

    /**
     * The nft script that makes the table match {@code plan}, or, when masquerading is off, removes it.
     * The first line is a comment naming the digest the table will carry ({@link #digest}).
     *
     * @param tunnel the WireGuard interface (traffic leaving through it keeps its source)
     */
    public static String script(EgressPlan plan, String tunnel) {
        if (!plan.masquerade()) return removal();
        StringBuilder body = new StringBuilder();
        for (boolean v6 : new boolean[] {false, true}) {
            List<Cidr> src = EgressPlan.family(plan.sources(), v6), keep = EgressPlan.family(plan.inMesh(), v6);
            if (src.isEmpty()) continue;
            String f = v6 ? "6" : "4", type = v6 ? "ipv6_addr" : "ipv4_addr";
            body.append("  set sources").append(f).append(" { type ").append(type).append("; flags interval; elements = { ")
                    .append(elements(src)).append(" }; }\n");
            body.append("  set mesh").append(f).append(" { type ").append(type).append("; flags interval; elements = { ")
                    .append(elements(keep)).append(" }; }\n");
        }
        body.append("  chain postrouting {\n")
                .append("    type nat hook postrouting priority srcnat; policy accept;\n")
                .append("    oifname \"").append(tunnel).append("\" return\n");
        if (!EgressPlan.family(plan.sources(), false).isEmpty()) {
            body.append("    ip saddr @sources4 ip daddr != @mesh4 masquerade fully-random\n");
        }
        if (!EgressPlan.family(plan.sources(), true).isEmpty()) {
            body.append("    ip6 saddr @sources6 ip6 daddr != @mesh6 masquerade fully-random\n");
        }
        body.append("  }\n");
        String digest = hash(body.toString());
        return "# " + digest + "\n"
                + "table " + TABLE + " {}\n"
                + "delete table " + TABLE + "\n"
                + "table " + TABLE + " {\n"
                + "  comment \"" + digest + "\"\n"
                + body
                + "}\n";
    }

    /** The script that removes the table if it exists (declaring it first makes the delete never fail). */
    public static String removal() {
        return "table " + TABLE + " {}\ndelete table " + TABLE + "\n";
    }

    /** The digest a script made by {@link #script} gives its table, or null for a removal. */
    public static String digest(String script) {
        return script.startsWith("# ") ? script.substring(2, script.indexOf('\n')) : null;
    }

    private static String elements(List<Cidr> cidrs) {
        return cidrs.stream().map(c -> c.bits() == c.totalBits() ? c.address(0) : c.toString()).collect(Collectors.joining(", "));
    }

    private static String hash(String body) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.UTF_8));
            return "wiremesh-sha256:" + HexFormat.of().formatHex(h, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
