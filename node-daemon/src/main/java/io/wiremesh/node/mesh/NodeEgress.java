package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.egress.Conntrack;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.egress.MasqueradeTable;
import io.wiremesh.node.egress.Nft;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Puts an {@link EgressPlan} on the node: policy routes to peer nodes' addresses first, then the
 * nftables table, then (for addresses that became or stopped being peers) forgets the flows that
 * conntrack would keep on their old path. Each part is applied even when another fails, so a missing
 * nft never leaves the policy routes out.
 */
public final class NodeEgress implements NodePorts.EgressPort {
    /** How often the rules are compared with the kernel rather than with what was last written ({@link #reassert}). */
    static final java.time.Duration RECHECK = java.time.Duration.ofSeconds(10);
    private final NodeAddressRouting routing;
    private final Nft nft;
    private final Conntrack conntrack;
    private final String tunnel;
    private Set<Cidr> remote;

    public NodeEgress(NodeAddressRouting routing, Nft nft, Conntrack conntrack, String tunnel) {
        this.routing = routing;
        this.nft = nft;
        this.conntrack = conntrack;
        this.tunnel = tunnel;
    }

    /**
     * Applies {@code plan}.
     *
     * @return true when the nftables table was rewritten
     * @throws IOException naming every part that failed (the others were applied)
     */
    @Override
    public synchronized boolean apply(EgressPlan plan) throws IOException {
        List<String> failed = new ArrayList<>();
        boolean rewritten = false;
        try {
            routing.apply(plan.ruleSources(), plan.remoteNodes());
        } catch (IOException | RuntimeException e) {
            failed.add("policy routes: " + e.getMessage());
        }
        try {
            rewritten = nft.apply(MasqueradeTable.script(plan, tunnel));
        } catch (IOException | RuntimeException e) {
            failed.add("nftables: " + e.getMessage());
        }
        Set<Cidr> now = new HashSet<>(plan.remoteNodes());
        if (remote != null && failed.isEmpty()) {
            Set<Cidr> changed = new HashSet<>(now);
            changed.addAll(remote);
            Set<Cidr> both = new HashSet<>(now);
            both.retainAll(remote);
            changed.removeAll(both);
            for (Cidr c : changed) {
                try {
                    conntrack.forget(plan.sources(), c);
                } catch (IOException e) {
                    failed.add("conntrack: " + e.getMessage());
                }
            }
        }
        if (failed.isEmpty()) remote = now;
        if (!failed.isEmpty()) throw new IOException(String.join("; ", failed));
        return rewritten;
    }

    /** The next {@link #apply} compares with the kernel again instead of trusting what it last wrote. */
    @Override
    public void reassert() {
        nft.forget();
    }

    /** Removes the table and the policy routes (each even when the other fails). */
    public synchronized void remove() throws IOException {
        List<String> failed = new ArrayList<>();
        try {
            nft.remove();
        } catch (IOException | RuntimeException e) {
            failed.add("nftables: " + e.getMessage());
        }
        try {
            routing.remove();
        } catch (IOException | RuntimeException e) {
            failed.add("policy routes: " + e.getMessage());
        }
        remote = null;
        if (!failed.isEmpty()) throw new IOException(String.join("; ", failed));
    }
}
