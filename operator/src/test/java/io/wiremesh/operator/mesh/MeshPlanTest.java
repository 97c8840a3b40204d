package io.wiremesh.operator.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.operator.ipam.Pool;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A mesh spec checked for what the schema cannot express: the plan of a valid one, and each refusal's message. */
class MeshPlanTest {
    static WireGuardMeshSpec spec(String... podCIDRs) {
        WireGuardMeshSpec s = new WireGuardMeshSpec();
        s.podCIDRs = List.of(podCIDRs);
        return s;
    }

    static WireGuardMeshSpec blocks(WireGuardMeshSpec s, Integer ipv4, Integer ipv6) {
        s.nodeBlockSize = new WireGuardMeshSpec.NodeBlockSize();
        s.nodeBlockSize.ipv4 = ipv4;
        s.nodeBlockSize.ipv6 = ipv6;
        return s;
    }

    static WireGuardNode member(String node, String... podCIDRs) {
        WireGuardNode m = new WireGuardNode();
        m.setMetadata(new ObjectMetaBuilder().withName("m." + node).build());
        m.setSpec(new WireGuardNodeSpec());
        m.getSpec().nodeName = node;
        m.getSpec().podCIDRs = List.of(podCIDRs);
        return m;
    }

    static Pool pool(String cidr, int blockBits) {
        return new Pool(Cidr.parse(cidr), blockBits);
    }

    private static void refused(WireGuardMeshSpec s, String message) {
        assertThatThrownBy(() -> MeshPlan.of(s)).isInstanceOf(MeshPlan.InvalidSpec.class).hasMessage(message);
    }

    @Test
    void dualStackWithTheDefaultBlockSizes() throws Exception {
        MeshPlan plan = MeshPlan.of(spec("10.42.0.0/16", "fd42::/48"));
        assertThat(plan.pools()).containsExactly(pool("10.42.0.0/16", 24), pool("fd42::/48", 112));
        assertThat(plan.peerPools()).isEmpty();
        assertThat(plan.claimed()).containsExactly(Cidr.parse("10.42.0.0/16"), Cidr.parse("fd42::/48"));
    }

    @Test
    void poolsKeepTheSpecsOrderAndItsBlockSizes() throws Exception {
        MeshPlan plan = MeshPlan.of(blocks(spec("fd42::/48", "10.42.0.0/16"), 26, 64));
        assertThat(plan.pools()).containsExactly(pool("fd42::/48", 64), pool("10.42.0.0/16", 26));
        // One family set, the other defaulted; a block as large as its pool is one block.
        assertThat(MeshPlan.of(blocks(spec("10.42.0.0/16", "fd42::/48"), null, 120)).pools())
                .containsExactly(pool("10.42.0.0/16", 24), pool("fd42::/48", 120));
        assertThat(MeshPlan.of(spec("10.42.7.0/24")).pools()).containsExactly(pool("10.42.7.0/24", 24));
    }

    @Test
    void peerPoolsAreKeptAndClaimedBesideThePodPools() throws Exception {
        WireGuardMeshSpec s = spec("10.42.0.0/16", "fd42::/48");
        s.peerCIDRs = List.of("10.99.0.0/24", "fd99::/64");
        MeshPlan plan = MeshPlan.of(s);
        assertThat(plan.peerPools()).containsExactly(Cidr.parse("10.99.0.0/24"), Cidr.parse("fd99::/64"));
        assertThat(plan.claimed()).containsExactlyInAnyOrder(Cidr.parse("10.42.0.0/16"), Cidr.parse("fd42::/48"),
                Cidr.parse("10.99.0.0/24"), Cidr.parse("fd99::/64"));
        // Adjacent is not overlapping; an empty list is no peer pools.
        s.peerCIDRs = List.of("10.43.0.0/24");
        assertThat(MeshPlan.of(s).peerPools()).containsExactly(Cidr.parse("10.43.0.0/24"));
        s.peerCIDRs = List.of();
        assertThat(MeshPlan.of(s).peerPools()).isEmpty();
    }

    @Test
    void noPodPools() {
        String empty = "spec.podCIDRs is empty: set one IPv4 and/or one IPv6 CIDR, e.g. [10.42.0.0/16]";
        refused(null, empty);
        refused(new WireGuardMeshSpec(), empty);
        refused(spec(), empty);
    }

    @Test
    void aPodPoolThatIsNotACidr() {
        refused(spec("10.42.0.1/16"), "spec.podCIDRs: 10.42.0.1/16 has host bits set: use 10.42.0.0/16");
        refused(spec("10.42.0.0"), "spec.podCIDRs: 10.42.0.0 is not a CIDR: add a prefix length, e.g. 10.42.0.0/24");
        refused(spec("10.42.0.0/16", "pods.example/48"),
                "spec.podCIDRs: pods.example/48 is not a CIDR: the address must be a literal IPv4 or IPv6 address");
    }

    @Test
    void twoPodPoolsOfOneFamily() {
        refused(spec("10.42.0.0/16", "10.43.0.0/16"), "spec.podCIDRs has two IPv4 CIDRs: keep one of each family");
        refused(spec("fd42::/48", "10.42.0.0/16", "fd43::/48"), "spec.podCIDRs has two IPv6 CIDRs: keep one of each family");
    }

    @Test
    void blocksLargerThanTheirPool() {
        refused(spec("10.42.0.0/25"), "spec.nodeBlockSize.ipv4 /24 is larger than the pool 10.42.0.0/25:"
                + " use a prefix length of at least 25, or a larger pool");
        refused(spec("fd42::/120"), "spec.nodeBlockSize.ipv6 /112 is larger than the pool fd42::/120:"
                + " use a prefix length of at least 120, or a larger pool");
        refused(blocks(spec("10.42.0.0/20"), 16, null), "spec.nodeBlockSize.ipv4 /16 is larger than the pool 10.42.0.0/20:"
                + " use a prefix length of at least 20, or a larger pool");
    }

    @Test
    void aPeerPoolThatIsNotACidrOrOverlapsAPodPool() {
        WireGuardMeshSpec s = spec("10.42.0.0/16", "fd42::/48");
        s.peerCIDRs = List.of("10.99.0.1/24");
        refused(s, "spec.peerCIDRs: 10.99.0.1/24 has host bits set: use 10.99.0.0/24");
        s.peerCIDRs = List.of("10.99.0.0/24", "10.42.128.0/24");
        refused(s, "spec.peerCIDRs 10.42.128.0/24 overlaps spec.podCIDRs 10.42.0.0/16: use a separate range");
        s.peerCIDRs = List.of("fd00::/8");
        refused(s, "spec.peerCIDRs fd00::/8 overlaps spec.podCIDRs fd42::/48: use a separate range");
    }

    @Test
    void anEgressExclusionThatIsNotACidr() throws Exception {
        WireGuardMeshSpec s = spec("10.42.0.0/16");
        s.egress = new WireGuardMeshSpec.Egress();
        s.egress.excludeCIDRs = new ArrayList<>(List.of("192.168.0.0/16", "172.16.0.0/12"));
        assertThat(MeshPlan.of(s).claimed()).as("exclusions are not the mesh's ranges").containsExactly(Cidr.parse("10.42.0.0/16"));
        s.egress.excludeCIDRs.add("192.168.1.1/24");
        refused(s, "spec.egress.excludeCIDRs: 192.168.1.1/24 has host bits set: use 192.168.1.0/24");
    }

    @Test
    void theFirstProblemInFieldOrderIsReported() {
        WireGuardMeshSpec s = spec("10.42.0.1/16");
        s.peerCIDRs = List.of("nope");
        refused(s, "spec.podCIDRs: 10.42.0.1/16 has host bits set: use 10.42.0.0/16");
    }

    @Test
    void strandedBlocksAreThoseNoPoolOfTheirFamilyHolds() throws Exception {
        MeshPlan plan = MeshPlan.of(spec("10.42.0.0/16"));
        WireGuardNode noSpec = member("x");
        noSpec.setSpec(null);
        WireGuardNode noBlocks = member("y");
        noBlocks.getSpec().podCIDRs = null;
        assertThat(plan.strandedBlocks(List.of(member("a", "10.42.1.0/24"), noSpec, noBlocks))).isEmpty();
        assertThat(plan.strandedBlocks(List.of(member("a", "10.42.1.0/24"), member("b", "10.43.0.0/24", "fd42::2:0/112"),
                member("c", "10.42.0.0/15")))).containsExactly("b (10.43.0.0/24)", "b (fd42::2:0/112)", "c (10.42.0.0/15)");
    }
}
