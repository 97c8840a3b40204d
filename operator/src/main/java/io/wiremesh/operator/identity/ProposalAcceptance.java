package io.wiremesh.operator.identity;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.Conditions;
import io.wiremesh.operator.Events;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies a {@link ProposalReview} to the API: an accepted proposal's keys, endpoints and identity go
 * into the WireGuardNode's spec (which the node's own credentials cannot write); a refused one sets
 * the status' Degraded condition (reason and what to do), raises a Warning Event on the WireGuardNode
 * and counts {@code wiremesh_operator_proposals_total{verdict="refused",reason}}, once per distinct
 * refusal (a status rewritten with the same refused proposal reports nothing new).
 */
public final class ProposalAcceptance {
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    public ProposalAcceptance(MeterRegistry registry) {
        this.registry = registry;
    }

    /**
     * Reviews {@code member}'s proposal and applies the verdict.
     *
     * @param nodeUid metadata.uid of the member's Node, or null when there is none
     * @throws io.fabric8.kubernetes.client.KubernetesClientException when a write fails (the reconcile is retried)
     */
    public ProposalReview review(KubernetesClient client, WireGuardNode member, String nodeUid) {
        ProposalReview r = ProposalReview.of(member, nodeUid, Instant.now());
        String name = member.getMetadata().getName();
        switch (r.verdict()) {
            case WAIT -> {}
            case CURRENT -> clearDegraded(client, member);
            case ACCEPT -> {
                var p = r.proposal();
                client.resources(WireGuardNode.class).withName(name).edit(m -> {
                    m.getSpec().publicKey = p.publicKey();
                    m.getSpec().kemPublicKey = p.kemPublicKey();
                    m.getSpec().endpoints = List.copyOf(p.endpoints());
                    m.getSpec().identity = r.accepted();
                    if (ProposalReview.APPROVED.equals(r.reason()) && m.getMetadata().getAnnotations() != null) {
                        m.getMetadata().getAnnotations().remove(WireGuardNode.APPROVED_IDENTITY); // used once
                    }
                    return m;
                });
                count("accepted", r.reason());
                if (r.newIdentity()) Events.normal(client, member, "IdentityAccepted", r.message());
                clearDegraded(client, member);
            }
            case REFUSE -> {
                Condition old = Conditions.find(member.getStatus().conditions, Conditions.DEGRADED);
                if (old != null && "True".equals(old.getStatus()) && Objects.equals(old.getMessage(), r.message())) break; // reported already
                client.resources(WireGuardNode.class).withName(name).editStatus(m -> {
                    if (m.getStatus() == null) return m; // gone since it was read: the next pass reviews what is there
                    if (m.getStatus().conditions == null) m.getStatus().conditions = new ArrayList<>();
                    Conditions.set(m.getStatus().conditions, Conditions.DEGRADED, true, r.reason(), r.message(), m.getMetadata().getGeneration());
                    return m;
                });
                count("refused", r.reason());
                Events.warning(client, member, "ProposalRefused", r.reason() + ": " + r.message());
            }
        }
        return r;
    }

    private static void clearDegraded(KubernetesClient client, WireGuardNode member) {
        Condition old = member.getStatus() == null ? null : Conditions.find(member.getStatus().conditions, Conditions.DEGRADED);
        if (old == null || !"True".equals(old.getStatus())) return;
        client.resources(WireGuardNode.class).withName(member.getMetadata().getName()).editStatus(m -> {
            if (m.getStatus() == null) return m;
            if (m.getStatus().conditions == null) m.getStatus().conditions = new ArrayList<>();
            Conditions.set(m.getStatus().conditions, Conditions.DEGRADED, false, "Accepted", "the status proposes the accepted key and endpoints",
                    m.getMetadata().getGeneration());
            return m;
        });
    }

    private void count(String verdict, String reason) {
        counters.computeIfAbsent(verdict + "/" + reason, k -> Counter.builder("wiremesh.operator.proposals")
                .description("Node proposals (keys, endpoints, identity) reviewed, by verdict and reason")
                .tag("verdict", verdict).tag("reason", reason).register(registry)).increment();
    }
}
