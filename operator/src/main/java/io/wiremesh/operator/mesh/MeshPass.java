package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshStatus;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.ipam.NodeBlocks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One reconcile of one WireGuardMesh, handed from step to step ({@link MeshReconciler}): what the pass
 * read and what its steps did, which the status reports at the end. Lives for one pass, on one thread.
 */
final class MeshPass {
    final WireGuardMesh mesh;
    final KubernetesClient client;
    /** Starts as the old status ({@link MeshStatuses#fresh}); patched at the end of the pass. */
    final WireGuardMeshStatus status;
    /** Step 1: the checked spec. */
    MeshPlan plan;
    /** Step 2: the selected Nodes by name, sorted (joiners get blocks in name order). */
    final Map<String, Node> selected = new TreeMap<>();
    /** Step 2: the mesh's WireGuardNodes, listed from the API server (they hold the allocations). */
    List<WireGuardNode> members = List.of();
    /** Step 4: the pools with every block taken, this pass's joiners' included. */
    NodeBlocks blocks;
    /** Step 4: selected nodes no pool had a block for. */
    final List<String> waiting = new ArrayList<>();
    /** Step 4: WireGuardNodes created (or found made by a racing pass). */
    int joined;
    /** Step 5: WireGuardNodes deleted. */
    int released;
    /** When a step wants the next pass at the latest (a grace period or key ends); null: no such time. */
    Duration recheck;

    MeshPass(WireGuardMesh mesh, KubernetesClient client) {
        this.mesh = mesh;
        this.client = client;
        this.status = MeshStatuses.fresh(mesh);
    }

    String name() {
        return mesh.getMetadata().getName();
    }

    /** The API object of {@code member}, to edit or delete. */
    Resource<WireGuardNode> member(WireGuardNode member) {
        return client.resources(WireGuardNode.class).withName(member.getMetadata().getName());
    }

    /** Asks for the next pass within {@code d} at the latest (null: no change). */
    void recheckWithin(Duration d) {
        if (d != null && (recheck == null || d.compareTo(recheck) < 0)) recheck = d;
    }

    /** Ends the pass: Degraded for {@code reason} ({@link MeshStatuses#degraded}). */
    UpdateControl<WireGuardMesh> degraded(String reason, String message) {
        return MeshStatuses.degraded(client, mesh, status, reason, message);
    }
}
