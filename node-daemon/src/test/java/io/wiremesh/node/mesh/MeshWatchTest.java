package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which updates of a member reach the peer sync: those of the operator-written spec that change peers,
 * routes or keys; not handshake summaries, conditions, or the node's own proposal in its status.
 */
class MeshWatchTest {
    /** A member whose key and endpoint ({@code key} null: none) the operator accepted, its status proposing the same. */
    private static WireGuardNode member(String block, String key, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m.n1").build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = "n1";
        w.getSpec().podCIDRs = List.of(block);
        w.getSpec().overlayAddresses = List.of("10.42.1.1");
        w.getSpec().nodeAddresses = List.of("198.18.0.1");
        if (key != null) {
            w.getSpec().publicKey = key;
            w.getSpec().endpoints = List.of(endpoint);
            w.setStatus(new WireGuardNodeStatus());
            w.getStatus().publicKey = key;
            w.getStatus().endpoints = List.of(endpoint);
        }
        return w;
    }

    @Test
    void acceptedKeyEndpointBlocksAndAddressesMatter() {
        WireGuardNode before = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.1.0/24", "k2", "198.18.0.1:51820"))).as("key").isTrue();
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.1.0/24", "k1", "198.18.0.1:51821"))).as("endpoint").isTrue();
        assertThat(MeshWatch.peerRelevantChange(before, member("10.42.2.0/24", "k1", "198.18.0.1:51820"))).as("block").isTrue();
        WireGuardNode moved = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        moved.getSpec().nodeAddresses = List.of("198.18.0.9");
        assertThat(MeshWatch.peerRelevantChange(before, moved)).as("node address").isTrue();
        WireGuardNode overlay = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        overlay.getSpec().overlayAddresses = List.of("10.42.1.2");
        assertThat(MeshWatch.peerRelevantChange(before, overlay)).as("overlay address").isTrue();
        assertThat(MeshWatch.peerRelevantChange(member("10.42.1.0/24", null, null), before)).as("first acceptance").isTrue();
        WireGuardNode kem = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        kem.getSpec().kemPublicKey = "NEW";
        assertThat(MeshWatch.peerRelevantChange(before, kem)).as("a new ML-KEM key (its preshared-key exchange follows it)").isTrue();
        WireGuardNode rotate = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        rotate.getSpec().keyGeneration = 2L;
        assertThat(MeshWatch.peerRelevantChange(before, rotate)).as("a key rotation asked for").isTrue();
        WireGuardNode noSpec = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        noSpec.setSpec(null);
        assertThat(MeshWatch.peerRelevantChange(noSpec, before)).as("a spec where there was none").isTrue();
        assertThat(MeshWatch.peerRelevantChange(before, noSpec)).as("the spec gone").isTrue();
    }

    @Test
    void aProposalInTheStatusDoesNotUntilTheOperatorAcceptsIt() {
        WireGuardNode before = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        WireGuardNode proposed = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        proposed.getStatus().publicKey = "k2";
        proposed.getStatus().endpoints = List.of("203.0.113.9:51820");
        proposed.getStatus().kemPublicKey = "NEW";
        proposed.getStatus().identityKey = "IDENTITY";
        proposed.getStatus().proposal = new WireGuardNodeStatus.ProposalSignature();
        proposed.getStatus().proposal.generation = 2L;
        proposed.getStatus().proposal.signature = "SIG";
        assertThat(MeshWatch.peerRelevantChange(before, proposed)).as("status-only key, endpoint and ML-KEM key").isFalse();
        WireGuardNode firstProposal = member("10.42.1.0/24", null, null);
        firstProposal.setStatus(new WireGuardNodeStatus());
        firstProposal.getStatus().publicKey = "k1";
        firstProposal.getStatus().endpoints = List.of("198.18.0.1:51820");
        assertThat(MeshWatch.peerRelevantChange(member("10.42.1.0/24", null, null), firstProposal)).as("a first proposal, not accepted").isFalse();

        // The operator accepts it: the spec changes, and that matters.
        WireGuardNode accepted = member("10.42.1.0/24", "k2", "203.0.113.9:51820");
        accepted.setStatus(proposed.getStatus());
        assertThat(MeshWatch.peerRelevantChange(proposed, accepted)).as("accepted into the spec").isTrue();
        // Accepting a later proposal of the same values moves only spec.identity: nothing for the peers.
        WireGuardNode reaccepted = member("10.42.1.0/24", "k2", "203.0.113.9:51820");
        reaccepted.getSpec().identity = new WireGuardNodeSpec.Identity();
        reaccepted.getSpec().identity.proposalGeneration = 3L;
        assertThat(MeshWatch.peerRelevantChange(accepted, reaccepted)).as("only spec.identity").isFalse();
    }

    @Test
    void aHandshakeSummaryOrConditionDoesNot() {
        WireGuardNode before = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        WireGuardNode after = member("10.42.1.0/24", "k1", "198.18.0.1:51820");
        after.getStatus().peers = List.of(new WireGuardNodeStatus.PeerSummary());
        after.getStatus().observedMeshGeneration = 7L;
        after.getStatus().presharedKeys = new WireGuardNodeStatus.PresharedKeySummary();
        after.getStatus().conditions = List.of(new ConditionBuilder().withType("Degraded").withStatus("True").withReason("BadSignature").build());
        assertThat(MeshWatch.peerRelevantChange(before, after)).isFalse();
        after.setStatus(null);
        assertThat(MeshWatch.peerRelevantChange(before, after)).as("the status gone").isFalse();
    }
}
