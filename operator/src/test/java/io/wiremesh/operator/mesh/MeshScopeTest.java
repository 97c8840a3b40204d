package io.wiremesh.operator.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which nodes a mesh selects, and which of two meshes keeps a range both claim. */
class MeshScopeTest {
    static WireGuardMesh mesh(String name, String created, String... podCIDRs) {
        WireGuardMesh m = new WireGuardMesh();
        m.getMetadata().setName(name);
        m.getMetadata().setCreationTimestamp(created);
        m.setSpec(MeshPlanTest.spec(podCIDRs));
        return m;
    }

    private static MeshPlan plan(WireGuardMesh m) throws MeshPlan.InvalidSpec {
        return MeshPlan.of(m.getSpec());
    }

    @Test
    void aNodeIsSelectedWithEveryLabelOfTheSelector() {
        WireGuardMesh m = mesh("m", null, "10.42.0.0/16");
        Node plain = new NodeBuilder().withNewMetadata().withName("n").endMetadata().build();
        Node labelled = new NodeBuilder().withNewMetadata().withName("n").withLabels(Map.of("a", "1", "b", "2")).endMetadata().build();
        assertThat(MeshScope.selects(m, plain)).as("no selector: every node").isTrue();
        m.getSpec().nodeSelector = Map.of();
        assertThat(MeshScope.selects(m, plain)).isTrue();
        m.getSpec().nodeSelector = Map.of("a", "1");
        assertThat(MeshScope.selects(m, labelled)).isTrue();
        assertThat(MeshScope.selects(m, plain)).isFalse();
        m.getSpec().nodeSelector = Map.of("a", "1", "c", "3");
        assertThat(MeshScope.selects(m, labelled)).isFalse();
        m.setSpec(null);
        assertThat(MeshScope.selects(m, plain)).isTrue();
    }

    @Test
    void theOlderMeshKeepsARangeTheNewerOneIsToldToMove() throws Exception {
        WireGuardMesh older = mesh("b", "2026-01-01T00:00:00Z", "10.42.0.0/16");
        WireGuardMesh newer = mesh("a", "2026-02-01T00:00:00Z", "10.42.128.0/17", "fd42::/48");
        List<WireGuardMesh> all = List.of(older, newer);
        assertThat(MeshScope.overlapWithOlderMesh(older, plan(older), all)).isEmpty();
        assertThat(MeshScope.overlapWithOlderMesh(newer, plan(newer), all)).contains("10.42.128.0/17 overlaps 10.42.0.0/16 of"
                + " WireGuardMesh b (created first): choose a range that overlaps no other mesh's podCIDRs or peerCIDRs");
    }

    @Test
    void peerPoolsCountAndTheNameDecidesBetweenMeshesOfOneAge() throws Exception {
        WireGuardMesh a = mesh("a", "2026-01-01T00:00:00Z", "10.42.0.0/16");
        WireGuardMesh b = mesh("b", "2026-01-01T00:00:00Z", "10.43.0.0/16");
        a.getSpec().peerCIDRs = List.of("10.99.0.0/24");
        b.getSpec().peerCIDRs = List.of("10.99.0.0/25");
        assertThat(MeshScope.overlapWithOlderMesh(a, plan(a), List.of(a, b))).isEmpty();
        assertThat(MeshScope.overlapWithOlderMesh(b, plan(b), List.of(a, b)))
                .hasValueSatisfying(why -> assertThat(why).startsWith("10.99.0.0/25 overlaps 10.99.0.0/24 of WireGuardMesh a"));
    }

    @Test
    void aMeshWithoutCreationTimeIsTheNewestAndAnInvalidMeshClaimsNothing() throws Exception {
        WireGuardMesh dated = mesh("z", "2026-01-01T00:00:00Z", "10.42.0.0/16");
        WireGuardMesh undated = mesh("a", null, "10.42.0.0/16");
        assertThat(MeshScope.overlapWithOlderMesh(dated, plan(dated), List.of(undated, dated))).isEmpty();
        assertThat(MeshScope.overlapWithOlderMesh(undated, plan(undated), List.of(undated, dated))).isPresent();

        WireGuardMesh invalid = mesh("old", "2025-01-01T00:00:00Z", "10.42.0.1/16");
        assertThat(MeshScope.overlapWithOlderMesh(dated, plan(dated), List.of(invalid, dated))).isEmpty();
    }
}
