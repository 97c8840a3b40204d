package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which updates of a member reach the peer sync: those that change peers or routes, not handshake summaries. */
class MeshWatchTest {
    private static WireGuardNode member(String block, String key, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m.n1").build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = "n1";
        w.getSpec().podCIDRs = List.of(block);
        w.getSpec().nodeAddresses = List.of("198.18.0.1");
        if (key != null) {
            w.setStatus(new WireGuardNodeStatus());
            w.getStatus().publicKey = key;
            w.getStatus().endpoints = List.of(endpoint);
        }
        return w;
    }

    @Test
    void keyEndpointBlocksAndNodeAddressesMatter() {
        WireGuardNode before = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.1.0/24", "k2", "198.18.0.1:51820"))).as("key").isTrue();
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.1.0/24", "k1", "198.18.0.1:51821"))).as("endpoint").isTrue();
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.2.0/24", "k1", "198.18.0.1:51820"))).as("block").isTrue();
        WireGuardNode moved = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        moved.getSpec().nodeAddresses = List.of("198.18.0.9");
        assertThat(MeshWatch.peerRelevantChange(before, moved)).as("node address").isTrue();
        assertThat(MeshWatch.peerRelevantChange(member("10.42.1.0/24", null, null), before)).as("first publication").isTrue();
        WireGuardNode kem = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        kem.getStatus().kemPublicKey = "NEW";
        assertThat(MeshWatch.peerRelevantChange(before, kem)).as("a new ML-KEM key (its preshared-key exchange follows it)").isTrue();
        WireGuardNode rotate = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        rotate.getSpec().keyGeneration = 2L;
        assertThat(MeshWatch.peerRelevantChange(before, rotate)).as("a key rotation asked for").isTrue();
    }

    @Test
    void aHandshakeSummaryOrConditionDoesNot() {
        WireGuardNode before = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        WireGuardNode after = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        after.getStatus().peers = List.of(new WireGuardNodeStatus.PeerSummary());
        after.getStatus().observedMeshGeneration = 7L;
        after.getStatus().presharedKeys = new WireGuardNodeStatus.PresharedKeySummary();
        assertThat(MeshWatch.peerRelevantChange(before, after)).isFalse();
    }
}
