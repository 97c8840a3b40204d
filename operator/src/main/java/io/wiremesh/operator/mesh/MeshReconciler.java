package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.micrometer.core.instrument.MeterRegistry;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshStatus;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.operator.Conditions;
import io.wiremesh.operator.Events;
import io.wiremesh.operator.OperatorMetrics;
import io.wiremesh.operator.identity.ProposalAcceptance;
import io.wiremesh.operator.ipam.BlockAllocator;
import jakarta.inject.Inject;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Turns a WireGuardMesh into one WireGuardNode per selected Node, each with its own address block.
 *
 * <ol>
 *   <li>The spec must make sense (MeshPlan); otherwise Degraded/InvalidSpec.</li>
 *   <li>Its ranges must not overlap another mesh's; the older mesh keeps them; otherwise Degraded/OverlappingMeshes.</li>
 *   <li>Every selected node without a WireGuardNode gets one, with the lowest free block of each family.
 *       Allocations live only in the WireGuardNodes, read from the API server at every pass, so a restart
 *       or re-list never moves a block. A full pool gives Degraded/PoolExhausted; existing nodes keep theirs.</li>
 *   <li>What each node proposes in its WireGuardNode's status (its WireGuard and ML-KEM keys, endpoints) is
 *       accepted into the spec, which the other nodes peer with, only when signed by the node's accepted
 *       identity (ProposalReview: trust on first use, bound to the Node's UID); otherwise Degraded on that
 *       WireGuardNode and a Warning Event.</li>
 *   <li>A WireGuardNode whose node is gone or no longer selected is kept for the grace period (a flapping
 *       node keeps its block), then deleted, which releases the block.</li>
 *   <li>With spec.keyRotation.interval set, the node whose WireGuard key is oldest and older than the
 *       interval gets a raised spec.keyGeneration (one node of the mesh at a time, KeyRotationSchedule);
 *       its node-daemon makes, sets and publishes a new key.</li>
 *   <li>Status: counts and the Ready condition.</li>
 * </ol>
 * Anything outside the mesh's own WireGuardNodes is never touched.
 */
@ControllerConfiguration(name = "wireguardmesh")
public class MeshReconciler implements Reconciler<WireGuardMesh> {
    private final Duration gracePeriod;
    private final OperatorMetrics metrics;
    private final ProposalAcceptance proposals;
    private InformerEventSource<Node, WireGuardMesh> nodes;

    /**
     * @param trustFirstUse whether a node's first identity is accepted without an admin's approval
     *                      ({@code operator.trustOnFirstUse} in the chart; see {@link io.wiremesh.operator.identity.ProposalReview})
     */
    @Inject
    public MeshReconciler(@ConfigProperty(name = "wiremesh.operator.node-grace-period", defaultValue = "60s") Duration gracePeriod,
                          @ConfigProperty(name = "wiremesh.operator.trust-on-first-use", defaultValue = "true") boolean trustFirstUse,
                          MeterRegistry registry) {
        this.gracePeriod = gracePeriod;
        this.metrics = new OperatorMetrics(registry);
        this.proposals = new ProposalAcceptance(registry, trustFirstUse);
    }

    /** With trust on first use (the default). */
    public MeshReconciler(Duration gracePeriod, MeterRegistry registry) {
        this(gracePeriod, true, registry);
    }

    @Override
    public List<EventSource<?, WireGuardMesh>> prepareEventSources(EventSourceContext<WireGuardMesh> context) {
        // Label changes (selection) and address changes (nodeAddresses) may matter to any mesh; heartbeats do not.
        nodes = new InformerEventSource<>(InformerEventSourceConfiguration.from(Node.class, WireGuardMesh.class)
                .withSecondaryToPrimaryMapper(n -> context.getPrimaryCache().list().map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withOnUpdateFilter((now, before) -> !Objects.equals(now.getMetadata().getLabels(), before.getMetadata().getLabels())
                        || NodeAddresses.changed(before, now))
                .build(), context);
        InformerEventSource<WireGuardNode, WireGuardMesh> members = new InformerEventSource<>(
                InformerEventSourceConfiguration.from(WireGuardNode.class, WireGuardMesh.class)
                        .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(WireGuardMesh.class, true))
                        .build(), context);
        return List.of(nodes, members);
    }

    @Override
    public UpdateControl<WireGuardMesh> reconcile(WireGuardMesh mesh, Context<WireGuardMesh> context) {
        metrics.reconciles.increment();
        try {
            return reconcileMesh(mesh, context);
        } catch (RuntimeException e) {
            metrics.errors.increment();
            throw e;
        }
    }

    private UpdateControl<WireGuardMesh> reconcileMesh(WireGuardMesh mesh, Context<WireGuardMesh> context) {
        KubernetesClient client = context.getClient();
        String name = mesh.getMetadata().getName();
        WireGuardMeshStatus status = freshStatus(mesh);

        MeshPlan plan;
        try {
            plan = MeshPlan.of(mesh.getSpec());
        } catch (MeshPlan.InvalidSpec e) {
            return degraded(client, mesh, status, "InvalidSpec", e.getMessage());
        }
        Optional<String> conflict = overlapWithOlderMesh(mesh, plan, context.getPrimaryCache().list().toList());
        if (conflict.isPresent()) return degraded(client, mesh, status, "OverlappingMeshes", conflict.get());

        Map<String, Node> selected = new TreeMap<>();
        nodes.list(n -> selects(mesh, n)).forEach(n -> selected.put(n.getMetadata().getName(), n));
        List<WireGuardNode> members = client.resources(WireGuardNode.class)
                .withLabel(WireGuardNode.MESH_LABEL, name).list().getItems();
        Map<String, WireGuardNode> byNode = new HashMap<>();
        for (WireGuardNode m : members) byNode.put(m.getSpec().nodeName, m);
        List<String> stranded = plan.strandedBlocks(members);
        if (!stranded.isEmpty()) {
            // Refused, never half-applied: pods use those blocks, and every node routes them.
            return degraded(client, mesh, status, "PoolsInUse", "spec.podCIDRs " + mesh.getSpec().podCIDRs + " no longer holds the"
                    + " blocks of " + String.join(", ", stranded) + ", which pods use: put the range back, or first take those nodes out"
                    + " of the mesh (spec.nodeSelector) and wait for their blocks to be released");
        }

        // What each node proposes in its status (keys, endpoints) reaches the spec, which every node peers with,
        // only when the node's accepted identity signed it (ProposalReview): another node's credentials cannot.
        // A member's status is written with node credentials: one that cannot be reviewed (or written back) is
        // logged and left for the next pass, never allowed to stop the others' reviews or the rest of this pass.
        Map<String, String> acceptedKeys = io.wiremesh.operator.identity.ProposalReview.keyHolders(members);
        // Decided in order (a key accepted for one member is in use for the next), written 16 at a time.
        List<Map.Entry<WireGuardNode, io.wiremesh.operator.identity.ProposalReview>> reviews = new ArrayList<>();
        for (WireGuardNode m : members) {
            Node n = selected.containsKey(m.getSpec().nodeName) ? selected.get(m.getSpec().nodeName)
                    : nodes.get(new ResourceID(m.getSpec().nodeName)).orElse(null);
            try {
                var r = proposals.review(m, n == null ? null : n.getMetadata().getUid(), acceptedKeys);
                reviews.add(Map.entry(m, r));
                if (r.proposal() != null && r.verdict() == io.wiremesh.operator.identity.ProposalReview.Verdict.ACCEPT) {
                    acceptedKeys.put(r.proposal().publicKey(), m.getMetadata().getName());
                    if (r.proposal().kemPublicKey() != null) acceptedKeys.put(r.proposal().kemPublicKey(), m.getMetadata().getName());
                }
            } catch (RuntimeException e) {
                metrics.errors.increment();
                System.err.println("wiremesh operator: proposal of " + m.getMetadata().getName() + " not reviewed, retried at the next pass: " + e);
            }
        }
        inParallel(reviews.stream().filter(e -> e.getValue().verdict() != io.wiremesh.operator.identity.ProposalReview.Verdict.WAIT)
                .<Runnable>map(e -> () -> {
                    try {
                        proposals.apply(client, e.getKey(), e.getValue());
                    } catch (RuntimeException x) {
                        metrics.errors.increment();
                        System.err.println("wiremesh operator: verdict on " + e.getKey().getMetadata().getName() + " not written, retried at the next pass: " + x);
                    }
                }).toList());
        proposals.retain(members.stream().map(m -> String.valueOf(m.getMetadata().getUid())).collect(Collectors.toSet()));

        List<BlockAllocator> allocators = new ArrayList<>();
        for (MeshPlan.Pool pool : plan.pools()) {
            List<Cidr> inUse = members.stream().flatMap(m -> m.getSpec().podCIDRs.stream()).map(Cidr::parse).toList();
            allocators.add(new BlockAllocator(pool.cidr(), pool.blockBits(), inUse));
        }

        // Node addresses: what each node's kubelet reports, minus what no node may claim.
        Map<String, Integer> claims = new HashMap<>();
        selected.values().forEach(n -> NodeAddresses.of(n).forEach(a -> claims.merge(a, 1, Integer::sum)));
        Set<String> contested = claims.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(Collectors.toSet());
        List<Cidr> meshRanges = plan.claimed();

        List<String> waiting = new ArrayList<>();
        List<WireGuardNode> joining = new ArrayList<>();
        for (String node : selected.keySet()) {
            WireGuardNode member = byNode.get(node);
            List<String> reported = NodeAddresses.of(selected.get(node));
            List<String> addresses = NodeAddresses.claimable(reported, meshRanges, contested);
            if (member == null) {
                WireGuardNode joiner = join(mesh, node, allocators, addresses);
                if (joiner != null) joining.add(joiner);
                else waiting.add(node);
                continue;
            }
            if (!addresses.equals(member.getSpec().nodeAddresses == null ? List.of() : member.getSpec().nodeAddresses)) {
                client.resources(WireGuardNode.class).withName(member.getMetadata().getName())
                        .edit(m -> { m.getSpec().nodeAddresses = addresses.isEmpty() ? null : addresses; return m; });
                if (addresses.size() < reported.size()) {
                    List<String> left = new ArrayList<>(reported);
                    left.removeAll(addresses);
                    Events.warning(client, mesh, "NodeAddressRejected", "node " + node + ": " + left + " not reachable through the tunnel"
                            + " (reported by another node too, or inside the mesh's pod or peer CIDRs): give each node its own InternalIP");
                }
            }
            if (member.getMetadata().getAnnotations() != null
                    && member.getMetadata().getAnnotations().containsKey(WireGuardNode.ORPHANED_SINCE)) {
                // The node came back within the grace period: it keeps its block.
                client.resources(WireGuardNode.class).withName(member.getMetadata().getName())
                        .edit(m -> { m.getMetadata().getAnnotations().remove(WireGuardNode.ORPHANED_SINCE); return m; });
            }
        }

        int joined = create(client, joining);

        Duration nextCheck = null;
        int released = 0;
        for (WireGuardNode m : members) {
            if (selected.containsKey(m.getSpec().nodeName)) continue;
            Duration left = leave(client, m);
            if (left == null) released++;
            else nextCheck = nextCheck == null || left.compareTo(nextCheck) < 0 ? left : nextCheck;
        }

        // Node keys older than spec.keyRotation.interval: one node at a time gets a new generation to answer.
        Instant now = Instant.now();
        KeyRotationSchedule rotation = KeyRotationSchedule.of(mesh.getSpec().keyRotationInterval(), members,
                m -> selected.containsKey(m.getSpec().nodeName) && reportsReady(m), now);
        for (String member : rotation.rotate()) {
            try {
                client.resources(WireGuardNode.class).withName(member).edit(m -> {
                    m.getSpec().keyGeneration = KeyRotationSchedule.nextGeneration(m);
                    if (m.getMetadata().getAnnotations() == null) m.getMetadata().setAnnotations(new HashMap<>());
                    m.getMetadata().getAnnotations().put(KeyRotationSchedule.REQUESTED, now.toString());
                    return m;
                });
            } catch (KubernetesClientException e) {
                metrics.errors.increment(); // e.g. refused by the schema: the request annotation is not set, so it is stuck, not blocking
                System.err.println("wiremesh operator: key rotation of " + member + " not asked: " + e.getMessage());
            }
        }
        if (rotation.recheckAfter() != null && (nextCheck == null || rotation.recheckAfter().compareTo(nextCheck) < 0)) {
            nextCheck = rotation.recheckAfter();
        }

        status.nodes = selected.size();
        status.readyNodes = (int) members.stream().filter(MeshReconciler::reportsReady).count();
        Long generation = mesh.getMetadata().getGeneration();
        status.upToDateNodes = (int) members.stream().filter(m -> m.getStatus() != null && generation != null
                && generation.equals(m.getStatus().observedMeshGeneration)).count();
        status.allocatedBlocks = (long) (members.size() - released + joined);
        status.freeBlocks = allocators.stream().mapToLong(BlockAllocator::free).min().orElse(0);

        UpdateControl<WireGuardMesh> control;
        if (!waiting.isEmpty()) {
            String pools = allocators.stream().map(a -> a.pool() + " (" + a.capacity() + " blocks of /" + a.blockBits() + ")")
                    .collect(Collectors.joining(", "));
            String msg = "pool exhausted: " + pools + " cannot fit " + waiting.size() + " more node(s) (" + abbreviate(waiting)
                    + "); add a larger range to spec.podCIDRs or use a longer spec.nodeBlockSize prefix";
            control = degraded(client, mesh, status, "PoolExhausted", msg);
        } else {
            Conditions.set(status.conditions, Conditions.DEGRADED, false, "AsExpected", "nothing to fix", mesh.getMetadata().getGeneration());
            Conditions.set(status.conditions, Conditions.READY, true, "AllNodesAllocated",
                    selected.size() + " node(s) selected, all with address blocks; " + status.readyNodes + " report ready",
                    mesh.getMetadata().getGeneration());
            control = UpdateControl.patchStatus(withStatus(mesh, status));
        }
        return nextCheck == null ? control : control.rescheduleAfter(nextCheck.plusMillis(100));
    }

    /**
     * The WireGuardNode of a joining node, with one fresh block per family (taken from the allocators
     * now, so no two joiners of one pass share a block) and the Node's addresses; null when a pool is full.
     */
    private static WireGuardNode join(WireGuardMesh mesh, String node, List<BlockAllocator> allocators, List<String> addresses) {
        List<Cidr> blocks = new ArrayList<>();
        for (BlockAllocator a : allocators) {
            Optional<Cidr> b = a.allocate();
            if (b.isEmpty()) return null;
            blocks.add(b.get());
        }
        String meshName = mesh.getMetadata().getName();
        WireGuardNode member = new WireGuardNode();
        member.setMetadata(new ObjectMetaBuilder()
                .withName(WireGuardNode.nameFor(meshName, node))
                .withLabels(Map.of(WireGuardNode.MESH_LABEL, meshName, WireGuardNode.NODE_LABEL, node))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(mesh.getApiVersion()).withKind(mesh.getKind())
                        .withName(meshName).withUid(mesh.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build())
                .build());
        WireGuardNodeSpec spec = new WireGuardNodeSpec();
        spec.mesh = meshName;
        spec.nodeName = node;
        spec.podCIDRs = blocks.stream().map(Cidr::toString).toList();
        spec.overlayAddresses = blocks.stream().map(b -> b.address(1)).toList();
        spec.nodeAddresses = addresses.isEmpty() ? null : addresses;
        spec.keyGeneration = 1L;
        member.setSpec(spec);
        return member;
    }

    /** How many creations are in flight at once: the API server's write latency, not its throughput, bounds a serial loop. */
    static final int PARALLEL_CREATES = 16;

    /**
     * Creates the joiners' WireGuardNodes, {@link #PARALLEL_CREATES} at a time (every block was
     * decided before, so the order does not matter); one that exists already (a pass that raced this
     * one) keeps what the API object holds. Returns how many exist now (created, or found there).
     *
     * @throws KubernetesClientException the first failure other than a conflict, after all have been tried
     */
    private int create(KubernetesClient client, List<WireGuardNode> joining) {
        java.util.concurrent.atomic.AtomicInteger created = new java.util.concurrent.atomic.AtomicInteger();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        inParallel(joining.stream().<Runnable>map(member -> () -> {
            try {
                client.resource(member).create();
                metrics.allocations.increment();
                created.incrementAndGet();
            } catch (KubernetesClientException e) {
                if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) created.incrementAndGet(); // there: it holds a block
                else failures.add(e);
            } catch (Throwable e) {
                failures.add(e); // rethrown below: the reconcile fails and is retried, nothing counted
            }
        }).toList());
        if (!failures.isEmpty()) {
            Throwable first = failures.getFirst();
            if (first instanceof RuntimeException r) throw r;
            if (first instanceof Error e) throw e;
            throw new IllegalStateException(first);
        }
        return created.get();
    }

    /** Runs {@code tasks} {@link #PARALLEL_CREATES} at a time and returns when all are done (each handles its own failure). */
    private static void inParallel(List<Runnable> tasks) {
        if (tasks.isEmpty()) return;
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(PARALLEL_CREATES);
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (Runnable t : tasks) {
                slots.acquireUninterruptibly();
                executor.submit(() -> {
                    try {
                        t.run();
                    } finally {
                        slots.release();
                    }
                });
            }
        }
    }

    /**
     * The member's node is gone or unselected: mark it, and delete it once the grace period has
     * passed. Returns null when deleted, else the time left.
     */
    private Duration leave(KubernetesClient client, WireGuardNode m) {
        Map<String, String> ann = m.getMetadata().getAnnotations();
        String since = ann == null ? null : ann.get(WireGuardNode.ORPHANED_SINCE);
        Instant now = Instant.now();
        if (since == null) {
            client.resources(WireGuardNode.class).withName(m.getMetadata().getName()).edit(x -> {
                if (x.getMetadata().getAnnotations() == null) x.getMetadata().setAnnotations(new HashMap<>());
                x.getMetadata().getAnnotations().put(WireGuardNode.ORPHANED_SINCE, now.toString());
                return x;
            });
            return gracePeriod;
        }
        Duration left = gracePeriod.minus(Duration.between(Instant.parse(since), now));
        if (!left.isNegative() && !left.isZero()) return left;
        client.resources(WireGuardNode.class).withName(m.getMetadata().getName()).delete();
        metrics.releases.increment();
        return null;
    }

    private static boolean reportsReady(WireGuardNode m) {
        if (m.getStatus() == null) return false;
        var c = Conditions.find(m.getStatus().conditions, Conditions.READY);
        return c != null && "True".equals(c.getStatus());
    }

    static boolean selects(WireGuardMesh mesh, Node node) {
        Map<String, String> want = mesh.getSpec() == null ? null : mesh.getSpec().nodeSelector;
        if (want == null || want.isEmpty()) return true;
        Map<String, String> have = node.getMetadata().getLabels();
        return have != null && want.entrySet().stream().allMatch(e -> Objects.equals(have.get(e.getKey()), e.getValue()));
    }

    /** The first mesh (by creation time, then name) keeps a range; a later one that overlaps it is told to move. */
    static Optional<String> overlapWithOlderMesh(WireGuardMesh mesh, MeshPlan plan, List<WireGuardMesh> all) {
        Comparator<WireGuardMesh> age = Comparator.comparing((WireGuardMesh m) -> m.getMetadata().getCreationTimestamp(),
                Comparator.nullsLast(Comparator.naturalOrder())).thenComparing(m -> m.getMetadata().getName());
        for (WireGuardMesh other : all) {
            if (other.getMetadata().getName().equals(mesh.getMetadata().getName()) || age.compare(other, mesh) > 0) continue;
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

    private UpdateControl<WireGuardMesh> degraded(KubernetesClient client, WireGuardMesh mesh, WireGuardMeshStatus status,
                                                  String reason, String message) {
        var old = Conditions.find(mesh.getStatus() == null ? null : mesh.getStatus().conditions, Conditions.DEGRADED);
        boolean news = old == null || !"True".equals(old.getStatus()) || !Objects.equals(old.getMessage(), message);
        Long gen = mesh.getMetadata().getGeneration();
        Conditions.set(status.conditions, Conditions.DEGRADED, true, reason, message, gen);
        Conditions.set(status.conditions, Conditions.READY, false, reason, message, gen);
        if (news) Events.warning(client, mesh, reason, message);
        return UpdateControl.patchStatus(withStatus(mesh, status));
    }

    private static WireGuardMeshStatus freshStatus(WireGuardMesh mesh) {
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

    private static WireGuardMesh withStatus(WireGuardMesh mesh, WireGuardMeshStatus status) {
        WireGuardMesh patch = new WireGuardMesh();
        patch.setMetadata(new ObjectMetaBuilder().withName(mesh.getMetadata().getName()).build());
        patch.setStatus(status);
        return patch;
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names) : String.join(", ", names.subList(0, 5)) + ", ...";
    }

}
