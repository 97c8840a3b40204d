package io.wiremesh.operator.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.ipam.Pool;
import java.util.ArrayList;
import java.util.List;

/**
 * A WireGuardMesh spec checked for what the schema cannot express: CIDRs with host bits (pools and
 * egress exclusions), two pools of one family, blocks larger than their pool, peer pools overlapping
 * pod pools. Each problem is described as the change that fixes it.
 *
 * @param pools     the pod pools in spec.podCIDRs order, each with its block size (spec.nodeBlockSize, or
 *                  {@link WireGuardMeshSpec.NodeBlockSize#DEFAULT_IPV4} / {@code DEFAULT_IPV6})
 * @param peerPools spec.peerCIDRs (empty when unset)
 */
record MeshPlan(List<Pool> pools, List<Cidr> peerPools) {

    /** A spec that cannot be applied; the message names the field and the fix (Degraded/InvalidSpec). */
    static final class InvalidSpec extends Exception {
        InvalidSpec(String message) {
            super(message);
        }
    }

    /**
     * The plan of {@code spec}.
     *
     * @throws InvalidSpec at the first problem, in field order (a null spec has no pools)
     */
    static MeshPlan of(WireGuardMeshSpec spec) throws InvalidSpec {
        if (spec == null || spec.podCIDRs == null || spec.podCIDRs.isEmpty()) {
            throw new InvalidSpec("spec.podCIDRs is empty: set one IPv4 and/or one IPv6 CIDR, e.g. [10.42.0.0/16]");
        }
        List<Pool> pools = new ArrayList<>();
        for (String s : spec.podCIDRs) {
            Cidr c = parse("spec.podCIDRs", s);
            if (pools.stream().anyMatch(p -> p.cidr().v6() == c.v6())) {
                throw new InvalidSpec("spec.podCIDRs has two " + family(c) + " CIDRs: keep one of each family");
            }
            int block = blockBits(spec, c);
            if (block < c.bits()) {
                throw new InvalidSpec("spec.nodeBlockSize." + (c.v6() ? "ipv6" : "ipv4") + " /" + block + " is larger than the pool "
                        + c + ": use a prefix length of at least " + c.bits() + ", or a larger pool");
            }
            pools.add(new Pool(c, block));
        }
        List<Cidr> peers = new ArrayList<>();
        if (spec.peerCIDRs != null) {
            for (String s : spec.peerCIDRs) {
                Cidr c = parse("spec.peerCIDRs", s);
                for (Pool p : pools) {
                    if (p.cidr().overlaps(c)) {
                        throw new InvalidSpec("spec.peerCIDRs " + c + " overlaps spec.podCIDRs " + p.cidr() + ": use a separate range");
                    }
                }
                peers.add(c);
            }
        }
        for (String s : spec.egressExcludeCIDRs()) parse("spec.egress.excludeCIDRs", s);
        return new MeshPlan(List.copyOf(pools), List.copyOf(peers));
    }

    /**
     * Blocks of existing members that this plan's pools no longer hold (an edit that shrank or moved
     * spec.podCIDRs while pods use them), as "node (block)"; empty when every block is inside its
     * family's pool. Such an edit cannot be applied: it is refused, and nothing is allocated or moved.
     */
    List<String> strandedBlocks(List<WireGuardNode> members) {
        List<String> out = new ArrayList<>();
        for (var m : members) {
            if (m.getSpec() == null || m.getSpec().podCIDRs == null) continue;
            for (String b : m.getSpec().podCIDRs) {
                Cidr block = Cidr.parse(b);
                if (pools.stream().noneMatch(p -> p.cidr().v6() == block.v6() && p.cidr().contains(block))) {
                    out.add(m.getSpec().nodeName + " (" + block + ")");
                }
            }
        }
        return out;
    }

    private static Cidr parse(String field, String s) throws InvalidSpec {
        try {
            return Cidr.parse(s);
        } catch (IllegalArgumentException e) {
            throw new InvalidSpec(field + ": " + e.getMessage());
        }
    }

    private static int blockBits(WireGuardMeshSpec spec, Cidr c) {
        WireGuardMeshSpec.NodeBlockSize b = spec.nodeBlockSize;
        Integer v = b == null ? null : c.v6() ? b.ipv6 : b.ipv4;
        return v != null ? v : c.v6() ? WireGuardMeshSpec.NodeBlockSize.DEFAULT_IPV6 : WireGuardMeshSpec.NodeBlockSize.DEFAULT_IPV4;
    }

    static String family(Cidr c) {
        return c.v6() ? "IPv6" : "IPv4";
    }

    /** Every range this mesh claims (pod and peer pools), for overlap checks between meshes. */
    List<Cidr> claimed() {
        List<Cidr> all = new ArrayList<>(peerPools);
        for (Pool p : pools) all.add(p.cidr());
        return all;
    }
}
