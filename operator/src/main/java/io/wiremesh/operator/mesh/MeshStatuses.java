package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshStatus;
import io.wiremesh.operator.Conditions;
import io.wiremesh.operator.Events;
import io.wiremesh.operator.ipam.NodeBlocks;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The WireGuardMesh status a pass writes: its counts, and Ready, or Degraded with a reason and a Warning Event when that is news. */
final class MeshStatuses {
    private MeshStatuses() {}

    /** The status a pass starts from: the old conditions and counts (kept when a pass ends early), this generation observed. */
    static WireGuardMeshStatus fresh(WireGuardMesh mesh) {
        WireGuardMeshStatus s = new WireGuardMeshStatus();
        WireGuardMeshStatus old = mesh.getStatus();
        if (old != null) {
            s.conditions = new ArrayList<>(old.conditions == null ? List.of() : old.conditions);
            s.nodes = old.nodes;
            s.readyNodes = old.readyNodes;
            s.allocatedBlocks = old.allocatedBlocks;
            s.freeBlocks = old.freeBlocks;
        }
        s.observedGeneration = mesh.getMetadata().getGeneration();
        return s;
    }

    /**
     * Degraded (and not Ready) for {@code reason}; a Warning Event too unless the mesh's status already
     * said Degraded with this message (each pass would repeat it otherwise).
     */
    static UpdateControl<WireGuardMesh> degraded(KubernetesClient client, WireGuardMesh mesh, WireGuardMeshStatus status,
                                                 String reason, String message) {
        var old = Conditions.find(mesh.getStatus() == null ? null : mesh.getStatus().conditions, Conditions.DEGRADED);
        boolean news = old == null || !"True".equals(old.getStatus()) || !Objects.equals(old.getMessage(), message);
        Long gen = mesh.getMetadata().getGeneration();
        Conditions.set(status.conditions, Conditions.DEGRADED, true, reason, message, gen);
        Conditions.set(status.conditions, Conditions.READY, false, reason, message, gen);
        if (news) Events.warning(client, mesh, reason, message);
        return UpdateControl.patchStatus(patch(mesh, status));
    }

    /** Ready for {@code reason}, and not Degraded. */
    static UpdateControl<WireGuardMesh> ready(WireGuardMesh mesh, WireGuardMeshStatus status, String reason, String message) {
        Conditions.set(status.conditions, Conditions.DEGRADED, false, "AsExpected", "nothing to fix", mesh.getMetadata().getGeneration());
        Conditions.set(status.conditions, Conditions.READY, true, reason, message, mesh.getMetadata().getGeneration());
        return UpdateControl.patchStatus(patch(mesh, status));
    }

    /** The counts of a pass that got to its end: nodes selected, ready and up to date, blocks held and free. */
    static void count(MeshPass pass) {
        WireGuardMeshStatus status = pass.status;
        status.nodes = pass.selected.size();
        status.readyNodes = (int) pass.members.stream().filter(Members::reportsReady).count();
        Long generation = pass.mesh.getMetadata().getGeneration();
        status.upToDateNodes = (int) pass.members.stream().filter(m -> m.getStatus() != null && generation != null
                && generation.equals(m.getStatus().observedMeshGeneration)).count();
        status.allocatedBlocks = (long) (pass.members.size() - pass.released + pass.joined);
        status.freeBlocks = pass.blocks.free();
    }

    /** The PoolExhausted message: the pools, the nodes left waiting (the first five) and the two ways out. */
    static String exhausted(NodeBlocks blocks, List<String> waiting) {
        return "pool exhausted: " + blocks.describe() + " cannot fit " + waiting.size() + " more node(s) (" + abbreviate(waiting)
                + "); add a larger range to spec.podCIDRs or use a longer spec.nodeBlockSize prefix";
    }

    /** The first five names, then "...": a message stays readable with thousands of nodes. */
    private static String abbreviate(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names) : String.join(", ", names.subList(0, 5)) + ", ...";
    }

    private static WireGuardMesh patch(WireGuardMesh mesh, WireGuardMeshStatus status) {
        WireGuardMesh patch = new WireGuardMesh();
        patch.setMetadata(new ObjectMetaBuilder().withName(mesh.getMetadata().getName()).build());
        patch.setStatus(status);
        return patch;
    }
}
