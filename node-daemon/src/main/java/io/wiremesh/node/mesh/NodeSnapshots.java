package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.WireGuardMesh;
import java.io.IOException;

/**
 * Takes the node agent's snapshots and plans them ({@link NodePlan#of}): the mesh, its members and external
 * devices as the watches last saw them, and the underlay's MTU as last read. A deleted mesh is planned with the
 * last spec seen (its members go with it: the plan then ends the membership). Not thread-safe: the agent's thread.
 */
final class NodeSnapshots {
    private final String mesh;
    private final String node;
    private final String endpointHost;
    private final MeshRouting routing;
    private final NodeLog log;
    /** The underlay's MTU as last read (0: never). */
    private int underlayMtu;
    private NodePlan last;

    NodeSnapshots(String mesh, String node, String endpointHost, MeshRouting routing, NodeLog log) {
        this.mesh = mesh;
        this.node = node;
        this.endpointHost = endpointHost;
        this.routing = routing;
        this.log = log;
    }

    /** The plan of what {@code watch} holds now, or null when none can be made (the reason is logged once). */
    NodePlan plan(MeshWatch watch) {
        WireGuardMesh m = watch.mesh();
        if ((m == null || m.getSpec() == null) && last != null) m = last.inputs().mesh();
        if (m == null || m.getSpec() == null) return null;
        if (m.getSpec().mtu == null) {
            try {
                underlayMtu = routing.underlayMtu(endpointHost);
            } catch (IOException e) { // the last one read stands (an address briefly gone while an interface is reconfigured)
                log.once("underlay-mtu", "cannot read the underlay's MTU: " + e.getMessage());
            }
        }
        try {
            last = NodePlan.of(new NodePlan.Inputs(mesh, node, m, watch.members(), watch.complete(), watch.externalPeers(), endpointHost,
                    underlayMtu));
            log.once("plan", null);
            return last;
        } catch (RuntimeException e) {
            log.once("plan", "cannot plan generation " + m.getMetadata().getGeneration() + " of WireGuardMesh " + mesh + ": " + e.getMessage());
            return null;
        }
    }

    /** The last plan made (null: none yet): its fail-closed pools hold while no new plan can be made. */
    NodePlan last() {
        return last;
    }
}
