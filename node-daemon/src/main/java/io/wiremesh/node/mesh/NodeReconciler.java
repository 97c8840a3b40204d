package io.wiremesh.node.mesh;

import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.psk.PresharedKeyExchange;
import io.wiremesh.node.wg.DatapathUnresponsive;
import io.wiremesh.node.wg.SwitchableDevice;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Makes the node hold a {@link NodePlan}: one pass of named steps in security order ({@link Step}),
 * each comparing with what the node has before it acts, so a pass over an unchanged plan writes
 * nothing. A failed step is reported (the first one names the Ready condition) and runs again on the
 * next pass; steps that do not need it still run (a port another process holds does not keep new
 * peers off the interface). status.observedMeshGeneration moves to the plan's generation only once
 * every step has passed. Called by one thread ({@link MeshAgent}'s loop); the preshared-key exchange's
 * {@link #installPresharedKey} takes the same lock, so a pass that read a pair's previous key cannot
 * write it over the new one. Needs no root: every effect goes through the ports below.
 */
public final class NodeReconciler {
    /** The steps of a pass, in the order they run; each one's reason is the Ready condition's when it is the first to fail. */
    public enum Step {
        /** Unreachable routes for every pool: pod traffic for the mesh never takes the default route, whatever else fails. */
        FAIL_CLOSED("FailClosedRoutesNotApplied"),
        /** The implementation driving the interface (spec.datapath): chosen at the first pass, switched by an edit. */
        DATAPATH("DatapathUnavailable"),
        /** A new WireGuard key when spec.keyGeneration asks for one: made and stored before anything uses it. */
        KEY("KeyNotStored"),
        /** The interface's private key and listen port. */
        INTERFACE("WaitingForDatapath"),
        /** Addresses, MTU and link state of the interface. */
        MTU("InterfaceNotSetUp"),
        /** The exchange's settings and peers, before the peers read their keys from it. */
        PRESHARED_KEYS("PresharedKeysNotApplied"),
        /** The interface's peers ({@link PeerSync}: only what differs); then the key the interface holds is the one to publish. */
        PEERS("PeersNotApplied"),
        /** Routes to the other members' blocks and the peer pools, with the node address as source where accepted. */
        ROUTES("RoutesNotApplied"),
        /** Masquerade table and policy routes to other nodes' addresses. */
        EGRESS("EgressNotApplied"),
        /** This node's WireGuardNode status: its signed proposal (the key the interface holds), port, datapath, Ready. */
        STATUS("StatusNotWritten");

        /** The Ready condition's reason when this step is the first to fail. */
        public final String reason;

        Step(String reason) {
            this.reason = reason;
        }
    }

    /** What a pass found: the generation it applied (null: not all of it), and the failures by step in order. */
    public record Outcome(Long observedGeneration, Map<Step, String> failures) {
        public boolean passed() {
            return failures.isEmpty();
        }
    }

    /** Something on this node outside the mesh that keeps pods from being wired there: replaces a Ready True. */
    public record NodeProblem(String reason, String message) {}

    private final String mesh;
    private final String ifname;
    private final String underlay;
    private final NodePorts.RoutePort routes;
    private final NodePorts.EgressPort egress;
    private final NodePorts.StatusPort status;
    private final PresharedKeyExchange exchange;
    private final Function<io.wiremesh.api.v1alpha1.WireGuardPeerSpec, String> externalPresharedKey;
    private final NodeLog log = new NodeLog();
    private final NodeInterface wg;
    private volatile int plannedMtu;
    /** When the last status write failed (MIN_VALUE: it did not). */
    private long statusFailedAt = Long.MIN_VALUE;
    static final long STATUS_RETRY_NANOS = 5_000_000_000L;
    private final java.util.function.LongSupplier nanoTime;
    /** The generation last applied in full (null: none yet). */
    private Long observed;
    private boolean closed;
    /** Why a datapath call of this pass timed out ({@link DatapathUnresponsive}; null: none): nothing more is asked of it this pass. */
    private String unresponsive;
    private Published published;
    private final Map<String, String> nodeByKey = new ConcurrentHashMap<>();
    private final Map<String, String> externalNames = new ConcurrentHashMap<>();

    private record Published(boolean ready, String reason, String message, int port, String datapath, Long observed, String publicKey) {}

    /**
     * @param key                  the node's key
     * @param keyGeneration        the spec.keyGeneration it answers (the first start records the one asked then)
     * @param observed             the generation the node's status says it applied (a restart keeps it until a pass applies the current one)
     * @param keys                 makes a rotated key, or null when the node keeps no state (then no rotation)
     * @param egress               null: no egress rules (pods only, tests)
     * @param exchange             null: no preshared keys with other nodes
     * @param externalPresharedKey an external device's preshared key (base64) from its Secret; may throw when it is missing
     * @param underlay             the underlay interface's name (for the Ready message)
     */
    public NodeReconciler(String mesh, String ifname, String underlay, NodeKey key, long keyGeneration, Long observed, NodePorts.DatapathPort datapaths,
                          NodePorts.RoutePort routes, NodePorts.EgressPort egress, NodePorts.StatusPort status, NodePorts.KeyStore keys,
                          PresharedKeyExchange exchange, Function<io.wiremesh.api.v1alpha1.WireGuardPeerSpec, String> externalPresharedKey,
                          LongSupplier nanoTime) {
        this.mesh = mesh;
        this.ifname = ifname;
        this.underlay = underlay;
        this.routes = routes;
        this.egress = egress;
        this.status = status;
        this.exchange = exchange;
        this.externalPresharedKey = externalPresharedKey;
        this.nanoTime = nanoTime;
        this.observed = observed;
        this.wg = new NodeInterface(ifname, key, keyGeneration, datapaths, routes, status, keys, exchange, nanoTime, log);
    }

    /**
     * One pass over {@code plan}.
     *
     * @param problem  what keeps pods from being wired apart from the mesh (IPAM, CNI), or null
     * @param rewrite  write the status even when it equals the last one written (someone else wrote it)
     */
    public synchronized Outcome pass(NodePlan plan, NodeProblem problem, boolean rewrite) {
        if (closed) return new Outcome(null, Map.of(Step.STATUS, "closed"));
        plannedMtu = plan.mtu();
        unresponsive = null;
        Map<Step, String> failed = new EnumMap<>(Step.class);
        run(failed, Step.FAIL_CLOSED, () -> routes.failClosed(plan.failClosedPools()));
        run(failed, Step.DATAPATH, () -> wg.datapath(plan));
        run(failed, Step.KEY, () -> wg.rotate(plan));
        run(failed, Step.INTERFACE, wg.device() != null && unresponsive == null, () -> wg.configure(plan));
        run(failed, Step.MTU, wg.keyed(), () -> wg.setUp(plan));
        if (exchange != null) run(failed, Step.PRESHARED_KEYS, () -> {
            exchange.settings(plan.presharedKeys(), plan.presharedKeyInterval());
            exchange.localAddresses(plan.overlayAddresses());
            exchange.peers(plan.exchangePeers(), plan.complete()); // before the peers: a peer's new key drops its chain's key
        });
        PeerPlan[] peers = new PeerPlan[1];
        run(failed, Step.PEERS, wg.keyed() && unresponsive == null, () -> {
            PeerPlan p = plan.peers(externalPresharedKey, (node, publicKey) -> exchange == null ? null : exchange.presharedKey(node, publicKey));
            nodeByKey.keySet().retainAll(p.nodeByKey().keySet());
            nodeByKey.putAll(p.nodeByKey());
            externalNames.keySet().retainAll(p.externalNames().keySet());
            externalNames.putAll(p.externalNames());
            // Strangers go only once both watches are complete: an incomplete view must not drop a live peer.
            wg.peers(p, plan.complete());
            peers[0] = p;
        });
        if (unresponsive != null || peers[0] != null) wg.answered(unresponsive); // its liveness probe follows
        run(failed, Step.ROUTES, peers[0] != null, () -> {
            routes.preferSource(plan.preferredSources());
            routes.route(peers[0].routedBlocks());
        });
        if (egress != null && plan.egress() != null) run(failed, Step.EGRESS, () -> applyEgress(plan));
        Long candidate = failed.isEmpty() ? Long.valueOf(plan.generation()) : observed;
        if (plan.membershipEnded()) {
            // nothing to write: the WireGuardNode is gone
        } else if (statusDue()) {
            run(failed, Step.STATUS, () -> publish(plan, failed, candidate, problem, rewrite));
        } else {
            failed.put(Step.STATUS, "the last write was refused: tried again 5 s after it");
        }
        if (failed.isEmpty()) observed = candidate;
        log.resolved(failed.keySet());
        return new Outcome(failed.isEmpty() ? observed : null, failed);
    }

    private interface Action {
        void run() throws IOException;
    }

    private void run(Map<Step, String> failed, Step step, Action action) {
        run(failed, step, true, action);
    }

    /** Runs {@code action} when {@code possible}; otherwise the step counts as failed behind the first failure. */
    private void run(Map<Step, String> failed, Step step, boolean possible, Action action) {
        if (!possible) {
            failed.put(step, "waits for " + (failed.isEmpty() ? "the interface" : failed.keySet().iterator().next()));
            return;
        }
        try {
            action.run();
        } catch (IOException | RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            if (unresponsive == null && DatapathUnresponsive.in(e)) unresponsive = message;
            failed.put(step, message);
            log.failed(step, message);
        }
    }

    private void applyEgress(NodePlan plan) throws IOException {
        if (wg.takeEgressReassert()) egress.reassert();
        var e = plan.egress();
        log.once("egress-rejected", e.rejected().isEmpty() ? null : "left out of the egress rules: " + e.rejected());
        if (egress.apply(e)) {
            log.info((e.masquerade() ? "masquerading " + e.sources() + " except towards " + e.inMesh() : "egress masquerade off (spec.egress.masquerade: false)")
                    + "; peer node addresses through the tunnel: " + e.remoteNodes());
        }
    }

    /** Writes the status when it differs from the last one written (or {@code rewrite}): Ready from the first failure, or the node problem. */
    private void publish(NodePlan plan, Map<Step, String> failed, Long generation, NodeProblem problem, boolean rewrite) {
        ReadyCondition c = ReadyCondition.of(mesh, ifname, underlay, plan, observed, failed, problem, unresponsive);
        int port = wg.port(plan.listenPort());
        String kind = wg.device() == null ? null : wg.device().kind();
        Published next = new Published(c.ready(), c.reason(), c.message(), port, kind, generation, wg.publicKey());
        if (!rewrite && next.equals(published)) return;
        statusFailedAt = nanoTime.getAsLong(); // until the write below returns
        status.publish(c.ready(), c.reason(), c.message(), port, kind, generation);
        published = next;
        statusFailedAt = Long.MIN_VALUE;
    }

    /** A status write that failed (the API server refused, an admission policy denied it) is tried again after 5 s, not every pass. */
    private boolean statusDue() {
        return statusFailedAt == Long.MIN_VALUE || nanoTime.getAsLong() - statusFailedAt >= STATUS_RETRY_NANOS;
    }

    /** No pass writes anything from now on; returns once a pass in progress has ended. */
    public synchronized void close() {
        closed = true;
    }

    /**
     * Writes the pair's current preshared key onto the one peer (the exchange's installer): O(1), not a pass.
     *
     * @return false when the interface is not configured or refused (the exchange retries)
     */
    public synchronized boolean installPresharedKey(String peerNode, String publicKey) {
        return wg.installPresharedKey(peerNode, publicKey);
    }

    /** Has the next pass read the interface's peers in full: it then meets a datapath the peer report found hanging. */
    public synchronized void rereadPeers() {
        wg.rereadPeers();
    }

    /** The interface (null before the first pass chose its implementation). */
    public SwitchableDevice device() {
        return wg.device();
    }

    /** The MTU the interface has (before it has one: the planned one): what new pods get, never more than the tunnel's. */
    public int mtu() {
        Integer applied = wg.mtu();
        return applied != null ? applied : plannedMtu;
    }

    /** Public key -> node name of the current node peers (metrics, status). */
    public Map<String, String> nodeByKey() {
        return nodeByKey;
    }

    /** Public key -> WireGuardPeer name of the external devices this node serves. */
    public Map<String, String> externalNames() {
        return externalNames;
    }
}
