package io.wiremesh.operator.identity;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.Conditions;
import io.wiremesh.operator.Events;
import io.wiremesh.operator.ParallelWrites;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Applies a {@link ProposalReview} to the API: an accepted proposal's keys, endpoints and identity go
 * into the WireGuardNode's spec (which the node's own credentials cannot write); a refused one sets
 * the status' Degraded condition (reason and what to do), counts
 * {@code wiremesh_operator_proposals_total{verdict="refused",reason}} and raises a Warning Event on the
 * WireGuardNode. What was reported is remembered here, not read back from the status (which the same
 * credentials can write): each distinct refusal is counted once, and Events of one reason about one
 * WireGuardNode come at most every {@link #EVENT_INTERVAL}, so a status rewritten in a loop cannot flood the Events.
 */
public final class ProposalAcceptance {
    /** The least time between two Warning Events of one reason about one WireGuardNode. */
    static final Duration EVENT_INTERVAL = Duration.ofSeconds(10);
    private final MeterRegistry registry;
    private final boolean trustFirstUse;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    /** WireGuardNode uid -> the refusal last counted (reason and message). */
    private final Map<String, String> reported = new ConcurrentHashMap<>();
    /** WireGuardNode uid and reason -> when the last such Warning Event was raised. */
    private final Map<String, Instant> lastEvent = new ConcurrentHashMap<>();

    /** @param trustFirstUse whether a node's first identity is accepted unapproved ({@link ProposalReview#of(WireGuardNode, String, Map, boolean, Instant)}) */
    public ProposalAcceptance(MeterRegistry registry, boolean trustFirstUse) {
        this.registry = registry;
        this.trustFirstUse = trustFirstUse;
    }

    /**
     * Reviews the proposal of every member of a mesh and writes the verdicts, then forgets departed
     * members ({@link #retain}). Decided in order, as a key accepted for one member is in use for the
     * next; written {@link ParallelWrites#AT_ONCE} at a time. A member's status is written with node
     * credentials: one that cannot be reviewed (or whose verdict cannot be written) goes to
     * {@code failed} and is left for the next pass, never stopping the others' reviews or the caller's pass.
     *
     * @param members the mesh's WireGuardNodes, as listed for this pass
     * @param nodeUid metadata.uid of a Node by name, or null when there is no such Node
     * @param failed  told what failed and that it is retried, e.g. "proposal of m.n1 not reviewed, retried at the next pass: ..."
     *                (from several threads at once)
     */
    public void acceptAll(KubernetesClient client, List<WireGuardNode> members, Function<String, String> nodeUid, Consumer<String> failed) {
        Map<String, String> acceptedKeys = ProposalReview.keyHolders(members);
        List<Map.Entry<WireGuardNode, ProposalReview>> reviews = new ArrayList<>();
        for (WireGuardNode m : members) {
            String uid = nodeUid.apply(m.getSpec().nodeName);
            try {
                ProposalReview r = review(m, uid, acceptedKeys);
                reviews.add(Map.entry(m, r));
                if (r.proposal() != null && r.verdict() == ProposalReview.Verdict.ACCEPT) {
                    acceptedKeys.put(r.proposal().publicKey(), m.getMetadata().getName());
                    if (r.proposal().kemPublicKey() != null) acceptedKeys.put(r.proposal().kemPublicKey(), m.getMetadata().getName());
                }
            } catch (RuntimeException e) {
                failed.accept("proposal of " + m.getMetadata().getName() + " not reviewed, retried at the next pass: " + e);
            }
        }
        ParallelWrites.run(reviews.stream().filter(e -> e.getValue().verdict() != ProposalReview.Verdict.WAIT)
                .<Runnable>map(e -> () -> {
                    try {
                        apply(client, e.getKey(), e.getValue());
                    } catch (RuntimeException x) {
                        failed.accept("verdict on " + e.getKey().getMetadata().getName() + " not written, retried at the next pass: " + x);
                    }
                }).toList());
        retain(members.stream().map(m -> String.valueOf(m.getMetadata().getUid())).collect(Collectors.toSet()));
    }

    /**
     * Reviews {@code member}'s proposal (pure: the caller applies the reviews of a pass in any order, or at once).
     *
     * @param nodeUid    metadata.uid of the member's Node, or null when there is none
     * @param keyHolders the keys accepted in the mesh and the WireGuardNode holding each ({@link ProposalReview#of})
     */
    public ProposalReview review(WireGuardNode member, String nodeUid, Map<String, String> keyHolders) {
        return ProposalReview.of(member, nodeUid, keyHolders, trustFirstUse, Instant.now());
    }

    /**
     * Applies a review of {@code member}: the accepted values into its spec (one merge patch), or the
     * Degraded condition, count and Event of a refusal. Safe to call for several members at once.
     *
     * @throws io.fabric8.kubernetes.client.KubernetesClientException when a write fails (the next pass reviews again)
     */
    public void apply(KubernetesClient client, WireGuardNode member, ProposalReview r) {
        String name = member.getMetadata().getName();
        String uid = String.valueOf(member.getMetadata().getUid());
        switch (r.verdict()) {
            case WAIT -> {}
            case CURRENT -> {
                reported.remove(uid);
                setDegraded(client, member, false, "Accepted", "the status proposes the accepted key and endpoints");
            }
            case ACCEPT -> {
                var p = r.proposal();
                // One JSON merge patch (RFC 7386), no read first: a null removes the field (a proposal without an ML-KEM key).
                Map<String, Object> spec = new HashMap<>();
                spec.put("publicKey", p.publicKey());
                spec.put("kemPublicKey", p.kemPublicKey());
                spec.put("endpoints", List.copyOf(p.endpoints()));
                spec.put("identity", r.accepted());
                Map<String, Object> patch = new HashMap<>(Map.of("spec", spec));
                if (r.newIdentity()) { // the approval is used once (or moot: the Node was re-created)
                    Map<String, Object> annotations = new HashMap<>();
                    annotations.put(WireGuardNode.APPROVED_IDENTITY, null);
                    patch.put("metadata", Map.of("annotations", annotations));
                }
                client.resources(WireGuardNode.class).withName(name)
                        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(patch));
                reported.remove(uid);
                count("accepted", r.reason());
                if (r.newIdentity()) Events.normal(client, member, "IdentityAccepted", r.message());
                setDegraded(client, member, false, "Accepted", "the status proposes the accepted key and endpoints");
            }
            case REFUSE -> {
                setDegraded(client, member, true, r.reason(), r.message());
                if (r.reason().concat(r.message()).equals(reported.put(uid, r.reason().concat(r.message())))) break; // counted already
                count("refused", r.reason());
                Instant now = Instant.now(), last = lastEvent.get(uid + "/" + r.reason());
                if (last == null || Duration.between(last, now).compareTo(EVENT_INTERVAL) >= 0) {
                    lastEvent.put(uid + "/" + r.reason(), now);
                    Events.warning(client, member, "ProposalRefused", r.reason() + ": " + r.message());
                }
            }
        }
    }

    /** Forgets what was reported about members that no longer exist (uids not in {@code live}). */
    public void retain(Set<String> live) {
        reported.keySet().retainAll(live);
        lastEvent.keySet().removeIf(k -> !live.contains(k.substring(0, k.lastIndexOf('/'))));
    }

    /** Writes the Degraded condition when the status does not already say exactly this (no write otherwise). */
    private static void setDegraded(KubernetesClient client, WireGuardNode member, boolean degraded, String reason, String message) {
        String status = degraded ? "True" : "False";
        Condition old = member.getStatus() == null ? null : Conditions.find(member.getStatus().conditions, Conditions.DEGRADED);
        if (old == null && !degraded) return; // never refused: nothing to clear
        if (old != null && status.equals(old.getStatus()) && reason.equals(old.getReason()) && Objects.equals(message, old.getMessage())) return;
        client.resources(WireGuardNode.class).withName(member.getMetadata().getName()).editStatus(m -> {
            if (m.getStatus() == null) return m; // gone since it was read: the next pass reviews what is there
            if (m.getStatus().conditions == null) m.getStatus().conditions = new ArrayList<>();
            Conditions.set(m.getStatus().conditions, Conditions.DEGRADED, degraded, reason, message, m.getMetadata().getGeneration());
            return m;
        });
    }

    private void count(String verdict, String reason) {
        counters.computeIfAbsent(verdict + "/" + reason, k -> Counter.builder("wiremesh.operator.proposals")
                .description("Node proposals (keys, endpoints, identity) reviewed, by verdict and reason")
                .tag("verdict", verdict).tag("reason", reason).register(registry)).increment();
    }
}
