package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.node.keys.KemKey;
import io.wiremesh.node.keys.NodeIdentity;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.psk.PresharedKeyExchange;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * This node's part of a mesh, level-triggered: every event of the mesh's watches ({@link MeshWatch})
 * marks the node dirty; one thread takes a snapshot, computes a {@link NodePlan} and has the
 * {@link NodeReconciler} apply it. A pass runs when the node is dirty, every second while the last one
 * failed or the datapath lost its configuration (a restarted userspace process comes back empty), and
 * at least every {@link PassSchedule#RESYNC} (someone may have changed the interface's peers, the fail-closed routes, the
 * policy rules or the ruleset behind our back; routes to blocks are trusted from the daemon's record until
 * the interface is re-created); between passes the fail-closed routes are re-asserted every second. Periodic duties are
 * {@link NodeJobs}. This class is the wiring and the loop; the decisions are in the plan and the steps.
 */
public final class MeshAgent implements AutoCloseable {
    private final KubernetesClient client;
    private final String mesh;
    private final String node;
    private final NodeKey key;
    private final Path stateDir;
    private final String ifname;
    private final MeshRouting routing;
    private final NodeEgress egress;
    private final String endpointHost;
    private final MemberStatus status;
    private final PresharedKeyExchange exchange;
    private final NodeLog log = new NodeLog();
    private final NodeJobs jobs = new NodeJobs(System::nanoTime);
    private volatile MeshWatch watch;
    private volatile NodeReconciler reconciler;
    private WireGuardNode self;
    private NodeSnapshots snapshots;
    /** The last pass found this node's membership over (its WireGuardNode gone, or re-created). */
    private boolean membershipEnded;
    private volatile NodeLoop loop;
    private final ProposalGuard proposal;
    private final NodeEvents events;
    private volatile Runnable onMembershipEnded = () -> {};
    private volatile Supplier<NodeReconciler.NodeProblem> nodeProblems = () -> null;

    /**
     * @param identity     this node's signing identity: signs every proposal of keys and endpoints in its status
     * @param kem          this node's ML-KEM key pair (its public key is published), or null for none (no preshared keys with other nodes)
     * @param stateDir     the node's state directory: its keys, and the preshared-key chains with the other nodes (psk/); null for none
     * @param egress       the node's egress rules, or null for none
     * @param endpointHost the node address other nodes reach this one at
     */
    public MeshAgent(KubernetesClient client, String mesh, String node, NodeKey key, KemKey kem, NodeIdentity identity, Path stateDir,
                     String ifname, MeshRouting routing, NodeEgress egress, String endpointHost) {
        this.client = client;
        this.mesh = mesh;
        this.node = node;
        this.key = key;
        this.stateDir = stateDir;
        this.ifname = ifname;
        this.routing = routing;
        this.egress = egress;
        this.endpointHost = endpointHost;
        this.status = new MemberStatus(client, mesh, node, identity, key.publicKeyBase64(), kem == null ? null : kem.publicKeyBase64(), endpointHost);
        this.proposal = new ProposalGuard(status::holdsOwnProposal);
        this.events = new NodeEvents(client, node);
        this.exchange = kem == null ? null : new PresharedKeyExchange(node, key, kem, stateDir.resolve("psk"),
                (peerNode, publicKey) -> reconciler != null && reconciler.installPresharedKey(peerNode, publicKey), System::currentTimeMillis);
    }

    /** Waits (up to {@code timeout}) for the operator to give this node its WireGuardNode ({@link MeshWatch#awaitMember}). */
    public WireGuardNode awaitMembership(Duration timeout) throws IOException {
        self = MeshWatch.awaitMember(client, mesh, node, timeout);
        return self;
    }

    /**
     * Watches the mesh, runs the first pass on this thread (fail-closed routes, datapath, interface, peers, routes,
     * egress, status) and starts the loop. A datapath the node cannot have ({@code spec.datapath: kernel} without the
     * module) is published in the status and thrown; one that is merely not up yet is waited for by the loop.
     *
     * @throws Datapaths.Unavailable when no implementation could be chosen
     */
    public void start() throws IOException {
        long keyGeneration = key.answering(self.getSpec().keyGeneration);
        if (key.generation() == 0 && stateDir != null) {
            try {
                NodeKey.recordGeneration(stateDir, keyGeneration);
            } catch (IOException e) { // the next start records it
                log.info("cannot record the key's generation in " + stateDir + ": " + e.getMessage());
            }
        }
        status.key(key.publicKeyBase64(), keyGeneration, key.created());
        NodeLoop owner = new NodeLoop(new LoopedNode(), jobs, Duration.ofSeconds(1), System::nanoTime);
        watch = new MeshWatch(client, mesh, node, MeshWatch.Listener.of(owner::markDirty, own -> {
            if (proposal.observed(own.getStatus())) {
                log.info("this node's status no longer holds its own proposal (written with other credentials?): writing it back");
            }
        }));
        try {
            WireGuardMesh m = watch.mesh();
            if (m == null || m.getSpec() == null) throw new IOException("WireGuardMesh " + mesh + " does not exist");
            // Before anything else (datapath, CNI socket, conflist): no instant in which pod traffic for the mesh could
            // take the node's default route. A node that cannot have them does not start.
            routing.failClosed(NodePlan.failClosedPools(m.getSpec(), watch.members()));
            String underlay = routing.looseReversePathOn(endpointHost);
            Long observed = self.getStatus() == null ? null : self.getStatus().observedMeshGeneration;
            reconciler = new NodeReconciler(mesh, ifname, underlay, key, keyGeneration, observed, new NodeDatapaths(ifname), routing, egress,
                    status, stateDir == null ? null : g -> NodeKey.rotate(stateDir, g), exchange, new PeerSecrets(client, System::nanoTime)::presharedKey,
                    System::nanoTime);
            snapshots = new NodeSnapshots(mesh, node, endpointHost, routing, log);
            NodeReconciler.Outcome first = pass();
            if (first == null && !membershipEnded) throw new IOException("no plan for WireGuardMesh " + mesh + ": " + log.last("plan"));
            if (first != null && first.failures().containsKey(NodeReconciler.Step.FAIL_CLOSED)) {
                throw new IOException("fail-closed routes not installed: " + first.failures().get(NodeReconciler.Step.FAIL_CLOSED));
            }
            if (first != null && reconciler.device() == null) {
                throw new Datapaths.Unavailable(first.failures().get(NodeReconciler.Step.DATAPATH));
            }
        } catch (IOException | RuntimeException e) {
            watch.close();
            throw e;
        }
        if (membershipEnded) {
            onMembershipEnded.run();
            return;
        }
        if (exchange != null) exchange.start();
        jobs.add("peer-report", PeerReport.EVERY, Duration.ofSeconds(2), new PeerReport(reconciler, status, exchange, owner::markDirty)::run);
        jobs.add("egress-recheck", NodeEgress.RECHECK, () -> {
            if (egress != null) egress.reassert(); // the next pass compares with the kernel: someone may have flushed the ruleset
            owner.markDirty();
        });
        jobs.add("proposal-rewrite", ProposalGuard.REWRITE_INTERVAL, () -> {
            if (proposal.tick()) owner.markDirty();
        });
        loop = owner;
        owner.start("node-agent");
    }

    /** False once the agent's thread died (out of memory): /healthz fails and the kubelet restarts the daemon. */
    public boolean alive() {
        return loop == null || loop.alive();
    }

    /** What the agent's thread keeps: the snapshots, their plans and passes, and the fail-closed routes in between. */
    private final class LoopedNode implements NodeLoop.Node {
        @Override
        public NodeReconciler.Outcome pass() {
            return MeshAgent.this.pass();
        }

        @Override
        public boolean membershipEnded() {
            return membershipEnded;
        }

        @Override
        public void membershipOver() {
            onMembershipEnded.run();
        }

        @Override
        public void failClosed() throws IOException {
            routing.failClosed(snapshots.last().failClosedPools());
        }

        @Override
        public boolean datapathConfigured() {
            return reconciler.device().configured();
        }

        @Override
        public NodeReconciler.NodeProblem problem() {
            return nodeProblems.get();
        }

        @Override
        public void problemAppeared(NodeReconciler.NodeProblem problem) {
            events.warning(problem.reason(), problem.message());
        }
    }

    /** A snapshot, its plan and one pass; null when no plan can be made yet (the reason is logged once). */
    private NodeReconciler.Outcome pass() {
        NodePlan plan = snapshots.plan(watch);
        if (plan == null) return null;
        boolean recreated = plan.recreatedSince(self.getMetadata().getUid());
        membershipEnded = plan.membershipEnded() || recreated;
        if (recreated) {
            log.info("WireGuardNode " + WireGuardNode.nameFor(mesh, node) + " was re-created (uid " + plan.memberUid() + ")");
            return null;
        }
        boolean rewrite = proposal.takeRewrite();
        NodeReconciler.Outcome o = reconciler.pass(plan, nodeProblems.get(), rewrite); // at the end of membership: removes the peers and routes
        proposal.passed(rewrite, !o.failures().containsKey(NodeReconciler.Step.STATUS));
        return o;
    }

    /**
     * What to do once this node's own WireGuardNode is deleted (its mesh was deleted, or the node left it), after a
     * pass removed its peers and routes: the node's blocks are no longer its own. Runs on the agent's thread.
     */
    public void onMembershipEnded(Runnable action) {
        onMembershipEnded = action;
    }

    /** The WireGuard interface's MTU as last planned (known after {@link #start()}); pods get the same, so they never exceed the tunnel. */
    public int mtu() {
        return reconciler.mtu();
    }

    /** Public key -> node name of the current peers (for metrics labels). */
    public Map<String, String> nodeByKey() {
        return reconciler.nodeByKey();
    }

    /** The interface, whichever implementation drives it (known after {@link #start()}). */
    public WireGuardDevice device() {
        return reconciler.device();
    }

    /** Ready once the interface is configured and every watch has listed. */
    public boolean ready() {
        MeshWatch w = watch;
        NodeReconciler r = reconciler;
        return w != null && w.complete() && r != null && r.device() != null && r.device().configured();
    }

    /** Where the node's problems come from (asked every second; null: none). */
    public void nodeProblems(Supplier<NodeReconciler.NodeProblem> problems) {
        nodeProblems = problems;
    }

    /** The preshared-key exchange with the other nodes (for metrics), or null when there is none. */
    public PresharedKeyExchange presharedKeys() {
        return exchange;
    }

    /**
     * Stops watching and passing, and returns once nothing of this agent writes to the node any more (once a pass in
     * progress has ended: its API and datapath calls are bounded): what the stopping daemon decides next (keep or uninstall the node's state) must not
     * be undone by a late pass. The interface, peers and routes stay as they are.
     */
    @Override
    public void close() {
        if (loop != null) loop.close();
        if (reconciler != null) reconciler.close(); // waits for a pass in progress; later ones do nothing
        if (exchange != null) exchange.close();
        if (watch != null) watch.close();
    }
}
