package io.wiremesh.node.mesh;

import java.util.Map;

/**
 * The Ready condition of this node's WireGuardNode after a pass (Kubernetes API conventions: a
 * CamelCase reason a program can match, a message a person can act on). Pure.
 *
 * @param ready   every step passed and nothing else keeps pods from being wired on the node
 * @param reason  {@code Configured}; the first failed step's reason ({@link NodeReconciler.Step#reason}); {@code MeshChangeNotApplied}
 *                when the failure holds back an edit of the mesh this node had applied the previous generation of; or the node
 *                problem's reason
 * @param message what happened, naming the generation, the step and the cause
 */
record ReadyCondition(boolean ready, String reason, String message) {

    /**
     * @param observed the generation last applied in full (null: none yet, the first configuration)
     * @param failed   the failures of the pass by step, in pass order (empty: all passed)
     * @param problem  what keeps pods from being wired on the node outside the mesh, or null
     * @param unresponsive why a datapath call of the pass timed out (null: none): the reason is then {@code DatapathUnresponsive} (a hung
     *                 process, which its liveness probe restarts), whichever step met it
     */
    static ReadyCondition of(String mesh, String ifname, String underlay, NodePlan plan, Long observed, Map<NodeReconciler.Step, String> failed,
                             NodeReconciler.NodeProblem problem, String unresponsive) {
        if (!failed.isEmpty()) {
            var first = failed.entrySet().iterator().next();
            if (unresponsive != null) return new ReadyCondition(false, "DatapathUnresponsive", unresponsive);
            if (observed != null && observed != plan.generation()) {
                return new ReadyCondition(false, "MeshChangeNotApplied", "generation " + plan.generation() + " of WireGuardMesh " + mesh
                        + " not (fully) applied, retrying every second: " + first.getKey().name().toLowerCase() + ": " + first.getValue());
            }
            return new ReadyCondition(false, first.getKey().reason, first.getValue());
        }
        if (problem != null) return new ReadyCondition(false, problem.reason(), problem.message());
        return new ReadyCondition(true, "Configured", "WireGuard interface " + ifname + " configured; " + plan.ownBlocks()
                + "; pod sources accepted only from the tunnel, not from " + underlay);
    }
}
