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
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * This node's part of a mesh, level-triggered: every event of the mesh's watches ({@link MeshWatch})
 * marks the node dirty; one thread takes a snapshot, computes a {@link NodePlan} and has the
 * {@link NodeReconciler} apply it. A pass runs when the node is dirty, every second while the last one
 * failed or the datapath lost its configuration (a restarted userspace process comes back empty), and
 * at least every {@link #RESYNC} (someone may have changed the interface's peers, the fail-closed routes, the
 * policy rules or the ruleset behind our back; routes to blocks are trusted from the daemon's record until
 * the interface is re-created); between passes the fail-closed routes are re-asserted every second. Periodic duties are
 * {@link NodeJobs}. This class is the wiring and the loop; the decisions are in the plan and the steps.
 */
public final class MeshAgent implements AutoCloseable {
    /** The longest between two passes over an unchanged mesh. */
    static final Duration RESYNC = Duration.ofSeconds(10);
    /** How often the egress rules are compared with the kernel rather than with what was last written. */
    static final Duration EGRESS_RECHECK = Duration.ofSeconds(10);
    /** The least time between two rewrites of this node's proposal over a status someone else wrote. */
    static final Duration PROPOSAL_REWRITE_INTERVAL = Duration.ofSeconds(5);

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
    private final Semaphore dirty = new Semaphore(0);
    private final NodeJobs jobs = new NodeJobs(System::nanoTime);
    private volatile MeshWatch watch;
    private volatile NodeReconciler reconciler;
    private WireGuardNode self;
    private NodeSnapshots snapshots;
    /** The last pass found this node's membership over (its WireGuardNode gone, or re-created). */
    private boolean membershipEnded;
    private Thread loop;
    private volatile boolean closed;
    private volatile boolean stuck;
    private volatile boolean proposalOverwritten;
    private volatile boolean rewriteDue;
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
        // The first start (or a key from before generations were recorded): the key answers the generation asked now.
        long keyGeneration = key.generation() != 0 ? key.generation() : self.getSpec().keyGeneration == null ? 1 : self.getSpec().keyGeneration;
        if (key.generation() == 0 && stateDir != null) {
            try {
                NodeKey.recordGeneration(stateDir, keyGeneration);
            } catch (IOException e) {
                log.info("cannot record the key's generation in " + stateDir + ": " + e.getMessage());
            }
        }
        status.key(key.publicKeyBase64(), keyGeneration, key.created());
        watch = new MeshWatch(client, mesh, node, MeshWatch.Listener.of(dirty::release, own -> {
            if (!status.holdsOwnProposal(own.getStatus()) && !proposalOverwritten) {
                proposalOverwritten = true;
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
            NodeReconciler.Outcome first = pass(false);
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
        jobs.add("peer-report", PeerReport.EVERY, Duration.ofSeconds(2), new PeerReport(reconciler, status, exchange)::run);
        jobs.add("egress-recheck", EGRESS_RECHECK, () -> {
            if (egress != null) egress.reassert(); // the next pass compares with the kernel: someone may have flushed the ruleset
            dirty.release();
        });
        jobs.add("proposal-rewrite", PROPOSAL_REWRITE_INTERVAL, () -> {
            if (!proposalOverwritten) return;
            proposalOverwritten = false;
            rewriteDue = true;
            dirty.release();
        });
        loop = Thread.ofPlatform().daemon().name("node-agent").start(this::loop);
    }

    /** The owner thread: a pass when due, the fail-closed routes re-asserted every second otherwise, then the due jobs. */
    private void loop() {
        long lastPass = System.nanoTime();
        boolean failing = false;
        NodeReconciler.NodeProblem problem = null;
        while (!closed) {
            try {
                boolean woken = dirty.tryAcquire(1, TimeUnit.SECONDS);
                dirty.drainPermits();
                if (closed) return;
                NodeReconciler.NodeProblem now = nodeProblems.get();
                boolean problemChanged = !Objects.equals(now, problem);
                if (problemChanged) log.info(now == null ? problem.reason() + " resolved" : now.message());
                problem = now;
                boolean resync = System.nanoTime() - lastPass > RESYNC.toNanos();
                NodeReconciler.Outcome o = null;
                if (woken || failing || problemChanged || resync || !reconciler.device().configured()) {
                    boolean rewrite = rewriteDue;
                    rewriteDue = false;
                    o = pass(rewrite);
                    lastPass = System.nanoTime();
                    failing = o == null || !o.passed();
                    if (rewrite && (o == null || o.failures().containsKey(NodeReconciler.Step.STATUS))) proposalOverwritten = true;
                    if (membershipEnded && !closed) {
                        onMembershipEnded.run();
                        return;
                    }
                }
                if (o == null) { // no pass, or no plan: the fail-closed routes still hold (someone may have flushed them)
                    try {
                        routing.failClosed(snapshots.last().failClosedPools());
                    } catch (IOException | RuntimeException e) {
                        log.failed("fail-closed", e.getMessage());
                    }
                }
                if (!closed) jobs.runDue();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) { // the one thread that keeps the node: it goes on (/healthz says if it cannot)
                log.failed("loop", String.valueOf(e));
                if (e instanceof VirtualMachineError) {
                    stuck = true;
                    throw e;
                }
            }
        }
    }

    /** False once the agent's thread died (out of memory): /healthz fails and the kubelet restarts the daemon. */
    public boolean alive() {
        return !stuck && (loop == null || loop.isAlive() || closed);
    }

    /** A snapshot, its plan and one pass; null when no plan can be made yet (the reason is logged once). */
    private NodeReconciler.Outcome pass(boolean rewrite) {
        NodePlan plan = snapshots.plan(watch);
        if (plan == null) return null;
        String uid = self.getMetadata().getUid();
        // Deleted and re-created between two snapshots (the mesh re-applied): another membership, maybe other blocks.
        boolean recreated = plan.memberUid() != null && uid != null && !plan.memberUid().equals(uid);
        membershipEnded = plan.membershipEnded() || recreated;
        if (recreated) {
            log.info("WireGuardNode " + WireGuardNode.nameFor(mesh, node) + " was re-created (uid " + plan.memberUid() + ")");
            return null;
        }
        return reconciler.pass(plan, nodeProblems.get(), rewrite); // at the end of membership: removes the peers and routes
    }

    /** Removes the masquerade table and the policy routes (the end of this node's membership). */
    public void removeEgress() throws IOException {
        if (egress != null) egress.remove();
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
        closed = true;
        dirty.release(); // wakes the loop; not interrupted: a UAPI write cut halfway could leave a peer half-written
        if (loop != null) {
            try {
                loop.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (reconciler != null) reconciler.close(); // waits for a pass in progress; later ones do nothing
        if (exchange != null) exchange.close();
        if (watch != null) watch.close();
    }
}
