package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a node should hold, from one snapshot of its mesh: no device, no kernel, no cluster. */
class NodePlanTest {

    static WireGuardMesh mesh(long generation) {
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName("m").withGeneration(generation).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.42.0.0/16");
        return m;
    }

    /** Member {@code i} with blocks 10.42.i.0/24, node address 198.18.0.i, an accepted key and endpoint. */
    static WireGuardNode member(int i) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m.n" + i).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = "n" + i;
        w.getSpec().podCIDRs = List.of("10.42." + i + ".0/24");
        w.getSpec().overlayAddresses = List.of("10.42." + i + ".1");
        w.getSpec().nodeAddresses = List.of("198.18.0." + i);
        w.getSpec().publicKey = "KEY" + i;
        w.getSpec().endpoints = List.of("198.18.0." + i + ":51820");
        return w;
    }

    static NodePlan.Inputs inputs(WireGuardMesh mesh, List<WireGuardNode> members, boolean complete) {
        return new NodePlan.Inputs("m", "n1", mesh, members, complete, List.of(), "198.18.0.1", 1500);
    }

    @Test
    void anUnsetSpecGivesTheDefaultsAndTheUnderlayMtuLessTheOverhead() {
        NodePlan p = NodePlan.of(inputs(mesh(3), List.of(member(1), member(2)), true));
        assertThat(p.generation()).isEqualTo(3);
        assertThat(p.listenPort()).isEqualTo(51820);
        assertThat(p.datapath()).isEqualTo(WireGuardMeshSpec.Datapath.AUTO);
        assertThat(p.mtu()).isEqualTo(1420);
        assertThat(p.ownBlocks()).containsExactly("10.42.1.0/24");
        assertThat(p.overlayAddresses()).containsExactly("10.42.1.1");
        assertThat(p.presharedKeys()).isTrue();
        assertThat(p.membershipEnded()).isFalse();
        assertThat(p.egress()).isNotNull();
        assertThat(p.peers(s -> null, (n, k) -> null).peers()).containsOnlyKeys("KEY2");
    }

    @Test
    void theSpecsValuesWin() {
        WireGuardMesh m = mesh(1);
        m.getSpec().listenPort = 51830;
        m.getSpec().mtu = 1380;
        m.getSpec().datapath = WireGuardMeshSpec.Datapath.KERNEL;
        m.getSpec().presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        m.getSpec().presharedKeys.enabled = false;
        NodePlan p = NodePlan.of(new NodePlan.Inputs("m", "n1", m, List.of(member(1)), true, List.of(), "198.18.0.1", 0));
        assertThat(p.listenPort()).isEqualTo(51830);
        assertThat(p.mtu()).as("the underlay is not read when the spec sets the MTU").isEqualTo(1380);
        assertThat(p.datapath()).isEqualTo(WireGuardMeshSpec.Datapath.KERNEL);
        assertThat(p.presharedKeys()).isFalse();
    }

    @Test
    void noMtuAtAllIsZeroForTheMtuStepToReport() {
        NodePlan p = NodePlan.of(new NodePlan.Inputs("m", "n1", mesh(1), List.of(member(1)), true, List.of(), "198.18.0.1", 0));
        assertThat(p.mtu()).isZero();
        assertThat(p.failClosedPools()).as("the rest of the plan does not depend on it").containsExactly(Cidr.parse("10.42.0.0/16"));
    }

    @Test
    void theMembersUidTellsAReCreatedMembershipApart() {
        WireGuardNode me = member(1);
        me.getMetadata().setUid("uid-1");
        assertThat(NodePlan.of(inputs(mesh(1), List.of(me), true)).memberUid()).isEqualTo("uid-1");
        assertThat(NodePlan.of(inputs(mesh(1), List.of(member(2)), true)).memberUid()).isNull();
        NodePlan p = NodePlan.of(inputs(mesh(1), List.of(me), true));
        assertThat(p.recreatedSince("uid-1")).isFalse();
        assertThat(p.recreatedSince("uid-0")).as("deleted and re-created between two snapshots").isTrue();
        assertThat(p.recreatedSince(null)).as("not known at start: nothing to compare").isFalse();
        assertThat(NodePlan.of(inputs(mesh(1), List.of(member(1)), true)).recreatedSince("uid-1")).as("none listed").isFalse();
    }

    @Test
    void failClosedCoversThePoolsAndEveryBlockOutsideThem() {
        WireGuardMesh m = mesh(1);
        m.getSpec().peerCIDRs = List.of("10.99.0.0/24");
        WireGuardNode stray = member(2);
        stray.getSpec().podCIDRs = List.of("10.77.2.0/24"); // from before an edit of the pools that the operator refused
        NodePlan p = NodePlan.of(inputs(m, List.of(member(1), stray), true));
        assertThat(p.failClosedPools()).containsExactly(Cidr.parse("10.42.0.0/16"), Cidr.parse("10.99.0.0/24"), Cidr.parse("10.77.2.0/24"));
    }

    @Test
    void theNodeAddressIsTheSourceOnlyWhenTheOperatorAcceptedIt() {
        WireGuardNode me = member(1);
        assertThat(NodePlan.of(inputs(mesh(1), List.of(me), true)).preferredSources()).containsExactly("198.18.0.1");
        me.getSpec().nodeAddresses = List.of("198.18.0.9");
        assertThat(NodePlan.of(inputs(mesh(1), List.of(me), true)).preferredSources()).isEmpty();
    }

    @Test
    void theKeyGenerationAskedIsTheMembersSpec() {
        WireGuardNode me = member(1);
        assertThat(NodePlan.of(inputs(mesh(1), List.of(me), true)).keyGeneration()).isZero();
        me.getSpec().keyGeneration = 4L;
        assertThat(NodePlan.of(inputs(mesh(1), List.of(me), true)).keyGeneration()).isEqualTo(4);
    }

    @Test
    void membershipEndsOnlyWhenACompleteViewLacksThisNode() {
        NodePlan partial = NodePlan.of(inputs(mesh(1), List.of(member(2)), false));
        assertThat(partial.membershipEnded()).isFalse();
        NodePlan ended = NodePlan.of(inputs(mesh(1), List.of(member(2)), true));
        assertThat(ended.membershipEnded()).isTrue();
        assertThat(ended.egress()).as("the end of membership removes the egress rules").isNull();
        assertThat(ended.peers(s -> null, (n, k) -> null).peers()).as("the blocks are no longer its own: no peer").isEmpty();
        assertThat(ended.overlayAddresses()).isEmpty();
    }

    @Test
    void theExchangesPeersAreTheOtherAcceptedKeysWithTheirEndpointsPort() {
        WireGuardNode n2 = member(2);
        n2.getSpec().endpoints = List.of("[fd18::2]:51999");
        WireGuardNode n3 = member(3);
        n3.getSpec().publicKey = null; // no key accepted yet
        NodePlan p = NodePlan.of(inputs(mesh(1), List.of(member(1), n2, n3), true));
        assertThat(p.exchangePeers()).singleElement().satisfies(x -> {
            assertThat(x.node()).isEqualTo("n2");
            assertThat(x.listenPort()).isEqualTo(51999);
        });
        assertThat(NodePlan.endpointPort(List.of("nonsense"), 51820)).isEqualTo(51820);
        assertThat(NodePlan.endpointPort(null, 51821)).isEqualTo(51821);
    }

    @Test
    void thePresharedKeyIntervalIsTheSpecs() {
        WireGuardMesh m = mesh(1);
        m.getSpec().presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        m.getSpec().presharedKeys.interval = "10m";
        assertThat(NodePlan.of(inputs(m, List.of(member(1)), true)).presharedKeyInterval()).isEqualTo(Duration.ofMinutes(10));
    }
}
