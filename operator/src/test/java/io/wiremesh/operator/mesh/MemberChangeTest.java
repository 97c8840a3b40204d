package io.wiremesh.operator.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Which member updates run a mesh pass: what the pass decides on, and nothing a node-daemon merely reports. */
class MemberChangeTest {
    static WireGuardNode member() {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m.n1").withGeneration(3L).withLabels(Map.of("wiremesh.io/mesh", "m")).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = "n1";
        WireGuardNodeStatus s = new WireGuardNodeStatus();
        s.publicKey = "KEY";
        s.endpoints = List.of("198.18.0.1:51820");
        s.proposal = new WireGuardNodeStatus.ProposalSignature();
        s.proposal.generation = 2L;
        s.proposal.signature = "SIG";
        s.keyGeneration = 1L;
        s.observedMeshGeneration = 4L;
        s.conditions = new ArrayList<>(List.of(new ConditionBuilder().withType("Ready").withStatus("True").withReason("Configured")
                .withMessage("configured").build()));
        w.setStatus(s);
        return w;
    }

    private static boolean decides(Consumer<WireGuardNode> change) {
        WireGuardNode now = member();
        change.accept(now);
        return MemberChange.decides(member(), now);
    }

    @Test
    void whatANodeMerelyReportsRunsNoPass() {
        assertThat(decides(w -> {})).isFalse();
        assertThat(decides(w -> w.getStatus().peers = List.of(new WireGuardNodeStatus.PeerSummary()))).as("handshake summary").isFalse();
        assertThat(decides(w -> w.getStatus().presharedKeys = new WireGuardNodeStatus.PresharedKeySummary())).as("PSK counts").isFalse();
        assertThat(decides(w -> w.getStatus().devices = List.of(new WireGuardNodeStatus.DeviceSummary()))).as("devices").isFalse();
        assertThat(decides(w -> w.getStatus().conditions.getFirst().setMessage("configured, 3 peers"))).as("a Ready message").isFalse();
        assertThat(decides(w -> w.getStatus().conditions.add(new ConditionBuilder().withType("Degraded").withStatus("False").build())))
                .as("the operator's own Degraded condition").isFalse();
        assertThat(decides(w -> w.getMetadata().setResourceVersion("99"))).isFalse();
    }

    @Test
    void whatAPassDecidesOnRunsOne() {
        assertThat(decides(w -> w.getMetadata().setGeneration(4L))).as("spec").isTrue();
        assertThat(decides(w -> w.getMetadata().setLabels(Map.of()))).as("labels").isTrue();
        assertThat(decides(w -> w.getMetadata().setAnnotations(Map.of("wiremesh.io/key-rotation-requested", "now")))).isTrue();
        assertThat(decides(w -> w.getMetadata().setDeletionTimestamp("2026-12-08T00:00:00Z"))).as("deletion").isTrue();
        assertThat(decides(w -> w.getStatus().publicKey = "KEY2")).as("a new key proposed").isTrue();
        assertThat(decides(w -> w.getStatus().kemPublicKey = "KEM")).isTrue();
        assertThat(decides(w -> w.getStatus().identityKey = "ID")).isTrue();
        assertThat(decides(w -> w.getStatus().endpoints = List.of("198.18.0.9:51820"))).as("endpoints").isTrue();
        assertThat(decides(w -> w.getStatus().proposal.signature = "SIG2")).as("a new signature").isTrue();
        assertThat(decides(w -> w.getStatus().keyGeneration = 2L)).isTrue();
        assertThat(decides(w -> w.getStatus().keyCreationTime = "2026-12-08T00:00:00Z")).isTrue();
        assertThat(decides(w -> w.getStatus().observedMeshGeneration = 5L)).as("the mesh's ready count").isTrue();
        assertThat(decides(w -> w.getStatus().conditions.getFirst().setStatus("False"))).as("Ready turned False").isTrue();
        assertThat(decides(w -> w.setStatus(null))).isTrue();
        assertThat(MemberChange.decides(null, member())).isTrue();
    }
}
