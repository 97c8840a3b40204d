package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.util.Objects;

/**
 * Which updates of a WireGuardNode the mesh reconciler decides on, so only those run a pass (cilium#28299: every
 * status write of every node triggering a full pass made the operator's work grow with the mesh). A pass reads of a
 * member its spec, labels, annotations, owners and deletion; of its status the signed proposal (public key, ML-KEM
 * key, identity key, endpoints, signature), the key's generation and creation time, the mesh generation it
 * observed, and whether its Ready condition is True. The node-daemons' other writes (handshake summaries, preshared-
 * key counts, devices, condition messages and the operator's own Degraded condition) change none of its decisions
 * and run no pass; the external-peer reconciler has event sources of its own for what it reads. Pure.
 */
final class MemberChange {
    private MemberChange() {}

    /** Whether the update from {@code before} to {@code now} can change a pass's outcome. */
    static boolean decides(WireGuardNode before, WireGuardNode now) {
        if (before == null || now == null) return true;
        ObjectMeta b = before.getMetadata(), n = now.getMetadata();
        // The spec's own changes move metadata.generation (the CRD has a status subresource).
        if (!Objects.equals(b.getGeneration(), n.getGeneration())) return true;
        if (!Objects.equals(b.getLabels(), n.getLabels()) || !Objects.equals(b.getAnnotations(), n.getAnnotations())
                || !Objects.equals(b.getOwnerReferences(), n.getOwnerReferences()) || !Objects.equals(b.getDeletionTimestamp(), n.getDeletionTimestamp())) {
            return true;
        }
        WireGuardNodeStatus s = before.getStatus(), t = now.getStatus();
        if (s == null || t == null) return s != t;
        return !Objects.equals(s.publicKey, t.publicKey) || !Objects.equals(s.kemPublicKey, t.kemPublicKey)
                || !Objects.equals(s.identityKey, t.identityKey) || !Objects.equals(s.endpoints, t.endpoints)
                || !sameProposal(s.proposal, t.proposal) || !Objects.equals(s.keyGeneration, t.keyGeneration)
                || !Objects.equals(s.keyCreationTime, t.keyCreationTime) || !Objects.equals(s.observedMeshGeneration, t.observedMeshGeneration)
                || Members.reportsReady(before) != Members.reportsReady(now);
    }

    private static boolean sameProposal(WireGuardNodeStatus.ProposalSignature a, WireGuardNodeStatus.ProposalSignature b) {
        if (a == null || b == null) return a == b;
        return Objects.equals(a.generation, b.generation) && Objects.equals(a.signature, b.signature);
    }
}
