package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
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
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.Events;
import io.wiremesh.operator.OperatorMetrics;
import io.wiremesh.operator.ParallelWrites;
import io.wiremesh.operator.identity.ProposalAcceptance;
import io.wiremesh.operator.ipam.NodeBlocks;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Turns a WireGuardMesh into one WireGuardNode per selected Node, each with its own address block.
 * Each pass takes these steps in order (reconcileMesh); a refusal in step 1 or 2 ends it.
 *
 * <ol>
 *   <li>The spec must make sense (MeshPlan); otherwise Degraded/InvalidSpec.</li>
 *   <li>Its ranges must not overlap another mesh's; the older mesh keeps them; otherwise Degraded/OverlappingMeshes.
 *       They must still hold every block the mesh's nodes have (an edit of spec.podCIDRs is never half-applied);
 *       otherwise Degraded/PoolsInUse.</li>
 *   <li>What each node proposes in its WireGuardNode's status (its WireGuard and ML-KEM keys, endpoints) is
 *       accepted into the spec, which the other nodes peer with, only when signed by the node's accepted
 *       identity (ProposalReview: trust on first use, bound to the Node's UID); otherwise Degraded on that
 *       WireGuardNode and a Warning Event.</li>
 *   <li>Every selected node without a WireGuardNode gets one, with the lowest free block of each family (NodeBlocks).
 *       Allocations live only in the WireGuardNodes, read from the API server at every pass, so a restart
 *       or re-list never moves a block. A full pool gives Degraded/PoolExhausted; existing nodes keep theirs.
 *       Nodes with a WireGuardNode get their current node addresses copied into it.</li>
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
     * @param gracePeriod   how long a departed node's WireGuardNode (and block) is kept
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

    /** Nodes (labels and addresses) and the meshes' own WireGuardNodes trigger a pass. */
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
                        // Handshake summaries, preshared-key counts and the like change no decision: no pass for them.
                        .withOnUpdateFilter((now, before) -> MemberChange.decides(before, now))
                        .build(), context);
        return List.of(nodes, members);
    }

    /** One pass over {@code mesh} (the class comment's steps), counted in the operator's metrics. */
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
        MeshPass pass = new MeshPass(mesh, context.getClient());
        Optional<UpdateControl<WireGuardMesh>> refused = checkSpec(pass)
                .or(() -> checkRanges(pass, context.getPrimaryCache().list().toList()));
        if (refused.isPresent()) return refused.get();
        acceptProposals(pass);
        allocateBlocks(pass);
        releaseDeparted(pass);
        rotateKeys(pass);
        return writeStatus(pass);
    }

    /** Step 1: the spec makes sense (MeshPlan), else Degraded/InvalidSpec. */
    private Optional<UpdateControl<WireGuardMesh>> checkSpec(MeshPass pass) {
        try {
            pass.plan = MeshPlan.of(pass.mesh.getSpec());
            return Optional.empty();
        } catch (MeshPlan.InvalidSpec e) {
            return Optional.of(pass.degraded("InvalidSpec", e.getMessage()));
        }
    }

    /**
     * Step 2: no older mesh holds the ranges (else OverlappingMeshes); then, with the selected nodes and the
     * members listed, the ranges hold every block in use (else PoolsInUse).
     */
    private Optional<UpdateControl<WireGuardMesh>> checkRanges(MeshPass pass, List<WireGuardMesh> meshes) {
        Optional<String> conflict = MeshScope.overlapWithOlderMesh(pass.mesh, pass.plan, meshes);
        if (conflict.isPresent()) return Optional.of(pass.degraded("OverlappingMeshes", conflict.get()));
        nodes.list(n -> MeshScope.selects(pass.mesh, n)).forEach(n -> pass.selected.put(n.getMetadata().getName(), n));
        pass.members = pass.client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, pass.name()).list().getItems();
        List<String> stranded = pass.plan.strandedBlocks(pass.members);
        if (stranded.isEmpty()) return Optional.empty();
        // Refused, never half-applied: pods use those blocks, and every node routes them.
        return Optional.of(pass.degraded("PoolsInUse", "spec.podCIDRs " + pass.mesh.getSpec().podCIDRs + " no longer holds the"
                + " blocks of " + String.join(", ", stranded) + ", which pods use: put the range back, or first take those nodes out"
                + " of the mesh (spec.nodeSelector) and wait for their blocks to be released"));
    }

    /** Step 3: each member's signed proposal reaches its spec, or is refused (ProposalAcceptance). */
    private void acceptProposals(MeshPass pass) {
        // The Node's UID binds a first identity: a selected Node as listed, else any Node of that name.
        proposals.acceptAll(pass.client, pass.members, name -> {
            Node n = pass.selected.containsKey(name) ? pass.selected.get(name) : nodes.get(new ResourceID(name)).orElse(null);
            return n == null ? null : n.getMetadata().getUid();
        }, this::failed);
    }

    /** Step 4: selected nodes without a WireGuardNode get one with fresh blocks; the others are kept up to date ({@link #keepUp}). */
    private void allocateBlocks(MeshPass pass) {
        List<Cidr> inUse = pass.members.stream().flatMap(m -> m.getSpec().podCIDRs.stream()).map(Cidr::parse).toList();
        pass.blocks = new NodeBlocks(pass.plan.pools(), inUse);
        Map<String, WireGuardNode> byNode = new HashMap<>();
        for (WireGuardNode m : pass.members) byNode.put(m.getSpec().nodeName, m);
        // Node addresses: what each node's kubelet reports, minus what no node may claim.
        Set<String> contested = NodeAddresses.contested(pass.selected.values());
        List<Cidr> meshRanges = pass.plan.claimed();
        List<WireGuardNode> joining = new ArrayList<>();
        for (Map.Entry<String, Node> e : pass.selected.entrySet()) {
            String node = e.getKey();
            List<String> reported = NodeAddresses.of(e.getValue());
            List<String> addresses = NodeAddresses.claimable(reported, meshRanges, contested);
            WireGuardNode member = byNode.get(node);
            if (member != null) keepUp(pass, member, node, reported, addresses);
            else pass.blocks.forNewNode().ifPresentOrElse(blocks -> joining.add(Members.joining(pass.mesh, node, blocks, addresses)),
                    () -> pass.waiting.add(node));
        }
        // Every block was decided above, so the creations may go in any order.
        pass.joined = ParallelWrites.create(pass.client, joining, metrics.allocations::increment);
    }

    /** Step 4 for a node that has its WireGuardNode: the node addresses it reports now, and no departure mark. */
    private void keepUp(MeshPass pass, WireGuardNode member, String node, List<String> reported, List<String> addresses) {
        if (!addresses.equals(Members.nodeAddresses(member))) {
            pass.member(member).edit(m -> { m.getSpec().nodeAddresses = addresses.isEmpty() ? null : addresses; return m; });
            NodeAddresses.rejection(node, reported, addresses).ifPresent(why -> Events.warning(pass.client, pass.mesh, "NodeAddressRejected", why));
        }
        if (Members.departed(member)) { // the node came back within the grace period: it keeps its block
            pass.member(member).edit(m -> { m.getMetadata().getAnnotations().remove(WireGuardNode.ORPHANED_SINCE); return m; });
        }
    }

    /** Step 5: a member whose node is gone or unselected is marked, then deleted (its block released) after the grace period. */
    private void releaseDeparted(MeshPass pass) {
        for (WireGuardNode m : pass.members) {
            if (pass.selected.containsKey(m.getSpec().nodeName)) continue;
            String since = Members.annotation(m, WireGuardNode.ORPHANED_SINCE);
            Instant now = Instant.now();
            if (since == null) {
                pass.member(m).edit(x -> Members.annotate(x, WireGuardNode.ORPHANED_SINCE, now.toString()));
                pass.recheckWithin(gracePeriod);
                continue;
            }
            Duration left = gracePeriod.minus(Duration.between(Instant.parse(since), now));
            if (left.isPositive()) {
                pass.recheckWithin(left);
                continue;
            }
            pass.member(m).delete();
            metrics.releases.increment();
            pass.released++;
        }
    }

    /** Step 6: with spec.keyRotation.interval set, the node whose key is oldest past it is asked for a new one. */
    private void rotateKeys(MeshPass pass) {
        Instant now = Instant.now();
        KeyRotationSchedule rotation = KeyRotationSchedule.of(pass.mesh.getSpec().keyRotationInterval(), pass.members,
                m -> pass.selected.containsKey(m.getSpec().nodeName) && Members.reportsReady(m), now);
        for (String member : rotation.rotate()) {
            try {
                pass.client.resources(WireGuardNode.class).withName(member).edit(m -> {
                    m.getSpec().keyGeneration = KeyRotationSchedule.nextGeneration(m);
                    return Members.annotate(m, KeyRotationSchedule.REQUESTED, now.toString());
                });
            } catch (KubernetesClientException e) {
                // e.g. refused by the schema: the request annotation is not set, so it is stuck, not blocking
                failed("key rotation of " + member + " not asked: " + e.getMessage());
            }
        }
        pass.recheckWithin(rotation.recheckAfter());
    }

    /** Step 7: the counts, and Ready or Degraded/PoolExhausted; the next pass when a step asked for one. */
    private UpdateControl<WireGuardMesh> writeStatus(MeshPass pass) {
        MeshStatuses.count(pass);
        UpdateControl<WireGuardMesh> control = pass.waiting.isEmpty()
                ? MeshStatuses.ready(pass.mesh, pass.status, "AllNodesAllocated", pass.selected.size()
                        + " node(s) selected, all with address blocks; " + pass.status.readyNodes + " report ready")
                : pass.degraded("PoolExhausted", MeshStatuses.exhausted(pass.blocks, pass.waiting));
        return pass.recheck == null ? control : control.rescheduleAfter(pass.recheck.plusMillis(100));
    }

    /** A write or review that failed without failing the pass: counted, logged, and tried again at the next pass. */
    private void failed(String what) {
        metrics.errors.increment();
        System.err.println("wiremesh operator: " + what);
    }
}
