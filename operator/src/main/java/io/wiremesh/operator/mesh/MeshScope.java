package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a mesh covers: the Nodes its spec.nodeSelector selects, and the ranges (pod and peer pools) it
 * may keep. When two meshes claim one range, the first mesh, by creation time then name, keeps it; a
 * later one that overlaps it is told to move. Pure.
 */
final class MeshScope {
    private static final Comparator<WireGuardMesh> AGE = Comparator.comparing((WireGuardMesh m) -> m.getMetadata().getCreationTimestamp(),
            Comparator.nullsLast(Comparator.naturalOrder())).thenComparing(m -> m.getMetadata().getName());

    private MeshScope() {}

    /** Whether {@code node} has every label of the mesh's spec.nodeSelector (none: every node). */
    static boolean selects(WireGuardMesh mesh, Node node) {
        Map<String, String> want = mesh.getSpec() == null ? null : mesh.getSpec().nodeSelector;
        if (want == null || want.isEmpty()) return true;
        Map<String, String> have = node.getMetadata().getLabels();
        return have != null && want.entrySet().stream().allMatch(e -> Objects.equals(have.get(e.getKey()), e.getValue()));
    }

    /**
     * What of {@code mesh}'s ranges an older mesh holds, as a message naming both ranges and that mesh;
     * empty when none does. Meshes whose own spec is invalid claim nothing.
     *
     * @param plan {@code mesh}'s plan
     * @param all  every WireGuardMesh (may include {@code mesh} itself)
     */
    static Optional<String> overlapWithOlderMesh(WireGuardMesh mesh, MeshPlan plan, List<WireGuardMesh> all) {
        for (WireGuardMesh other : all) {
            if (other.getMetadata().getName().equals(mesh.getMetadata().getName()) || AGE.compare(other, mesh) > 0) continue;
            MeshPlan otherPlan;
            try {
                otherPlan = MeshPlan.of(other.getSpec());
            } catch (MeshPlan.InvalidSpec e) {
                continue;
            }
            for (Cidr mine : plan.claimed()) {
                for (Cidr theirs : otherPlan.claimed()) {
                    if (mine.overlaps(theirs)) {
                        return Optional.of(mine + " overlaps " + theirs + " of WireGuardMesh " + other.getMetadata().getName()
                                + " (created first): choose a range that overlaps no other mesh's podCIDRs or peerCIDRs");
                    }
                }
            }
        }
        return Optional.empty();
    }
}
