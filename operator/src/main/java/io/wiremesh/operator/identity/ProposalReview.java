package io.wiremesh.operator.identity;

import io.wiremesh.api.identity.Proposal;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Whether the keys and endpoints a node proposes in its WireGuardNode's status may replace the ones
 * accepted in its spec, which every other node peers with. Pure: the member as read, the UID of its
 * Node, the time.
 *
 * <ul>
 *   <li>No identity accepted yet: the first proposal signed by the identity it presents is accepted
 *       (trust on first use), and the identity is bound to the Node's metadata.uid; with trust on first
 *       use off, only once an admin approved its fingerprint ({@code AwaitingApproval} until then).</li>
 *   <li>The accepted identity: a proposal whose values differ from the spec's is accepted only when that
 *       identity signed it ({@link Proposal}) with a generation above the accepted one; otherwise it is
 *       refused as {@code Unsigned}, {@code BadSignature} or {@code Replayed}.</li>
 *   <li>A key another member holds (WireGuard or ML-KEM) is refused as {@code KeyInUse}, whoever signed it: two
 *       peers with one key would take each other's place in every peer list.</li>
 *   <li>A Node re-created while the node kept its identity: the identity is bound to the new UID at once
 *       ({@code NodeRebound}), so an identity presented later is not taken for the new Node's first.</li>
 *   <li>Another identity (a node whose disk was wiped, or anyone writing the node's status): accepted
 *       when it signed its own proposal and either the Node was re-created (another UID) or an admin
 *       approved its fingerprint ({@link WireGuardNode#APPROVED_IDENTITY}); otherwise refused as
 *       {@code IdentityChanged}, and the spec keeps the previous key.</li>
 * </ul>
 * A refused proposal changes nothing: its node's peers keep the accepted key (that node's pods may
 * become unreachable; no one else's traffic goes anywhere new).
 *
 * @param verdict  what to do
 * @param reason   CamelCase reason for the condition, event and metric
 * @param message  what happened and what to do, for people
 * @param accepted for {@link Verdict#ACCEPT}: the spec's new identity (generation, UID, time) and the values in {@link #proposal}
 * @param proposal for {@link Verdict#ACCEPT}: the proposal accepted
 */
public record ProposalReview(Verdict verdict, String reason, String message, WireGuardNodeSpec.Identity accepted, Proposal proposal) {

    public enum Verdict {
        /** Nothing proposed yet (no key or endpoint in the status), or no Node to bind a first identity to. */
        WAIT,
        /** The status proposes what the spec holds. */
        CURRENT,
        /** Copy {@link #proposal}'s values and {@link #accepted} into the spec. */
        ACCEPT,
        /** Keep the spec; report the reason. */
        REFUSE
    }

    public static final String FIRST_USE = "FirstUse";
    public static final String SIGNED = "Signed";
    public static final String NODE_RECREATED = "NodeRecreated";
    public static final String APPROVED = "Approved";
    public static final String UNSIGNED = "Unsigned";
    public static final String BAD_SIGNATURE = "BadSignature";
    public static final String REPLAYED = "Replayed";
    public static final String IDENTITY_CHANGED = "IdentityChanged";
    public static final String KEY_IN_USE = "KeyInUse";
    public static final String NODE_REBOUND = "NodeRebound";
    public static final String AWAITING_APPROVAL = "AwaitingApproval";

    /**
     * @param member  the WireGuardNode as read from the API server
     * @param nodeUid metadata.uid of its Node, or null when the Node is not (or no longer) there
     * @param keyHolders the WireGuard and ML-KEM public keys accepted in the mesh -> the WireGuardNode holding each:
     *                a node may not propose another's (it would take that node's place in every peer list)
     * @param now     the acceptance time recorded for a new identity
     */
    public static ProposalReview of(WireGuardNode member, String nodeUid, java.util.Map<String, String> keyHolders, Instant now) {
        return of(member, nodeUid, keyHolders, true, now);
    }

    /**
     * {@link #of(WireGuardNode, String, java.util.Map, Instant)} with trust on first use on or off: off, a node's first
     * identity (and the new identity of a re-created Node) needs an admin's approval of its fingerprint, like a wiped node's.
     */
    public static ProposalReview of(WireGuardNode member, String nodeUid, java.util.Map<String, String> keyHolders, boolean trustFirstUse,
                                    Instant now) {
        WireGuardNodeSpec spec = member.getSpec();
        WireGuardNodeStatus s = member.getStatus();
        String name = member.getMetadata().getName();
        String node = spec.nodeName;
        if (s == null || s.publicKey == null || s.endpoints == null || s.endpoints.isEmpty()) {
            return new ProposalReview(Verdict.WAIT, "NothingProposed", "no key and endpoint in the status yet", null, null);
        }
        WireGuardNodeSpec.Identity known = spec.identity;
        boolean sameValues = Objects.equals(s.publicKey, spec.publicKey) && Objects.equals(s.kemPublicKey, spec.kemPublicKey)
                && Objects.equals(s.endpoints, spec.endpoints);
        boolean sameIdentity = known != null && Objects.equals(s.identityKey, known.signingKey);
        if (sameIdentity && sameValues) {
            if (nodeUid == null || nodeUid.equals(known.nodeUID)) {
                return new ProposalReview(Verdict.CURRENT, "Accepted", "the status proposes the accepted key and endpoints", null, null);
            }
            // The Node was re-created and the node kept its identity: bind the identity to the new Node at once, so a
            // new identity presented later is not taken for the re-created Node's first one.
            return new ProposalReview(Verdict.ACCEPT, NODE_REBOUND, "Node " + node + " was re-created (uid " + nodeUid + "); it kept identity "
                    + known.fingerprint, identity(known.signingKey, known.fingerprint, nodeUid, known.proposalGeneration == null ? 1 : known.proposalGeneration,
                    known.acceptedTime), new Proposal(name, node, known.proposalGeneration == null ? 1 : known.proposalGeneration, known.signingKey,
                    spec.publicKey, spec.kemPublicKey, spec.endpoints));
        }

        if (s.identityKey == null || s.proposal == null || s.proposal.generation == null || s.proposal.signature == null) {
            return refuse(UNSIGNED, "node " + node + " proposes key " + s.publicKey + " and endpoints " + s.endpoints + " without an identity"
                    + " signature; the other nodes keep " + accepted(spec) + ". If the node-daemon of " + node + " is older than signed"
                    + " proposals, upgrade it; otherwise another node's credentials wrote this status: find that node (audit log), and"
                    + CLEAR.replace("NODE", node));
        }
        Proposal p = new Proposal(name, node, s.proposal.generation, s.identityKey, s.publicKey, s.kemPublicKey, s.endpoints);
        String fingerprint;
        try {
            fingerprint = Proposal.fingerprint(s.identityKey);
        } catch (IllegalArgumentException e) {
            fingerprint = "(malformed)";
        }
        if (!p.verify(s.proposal.signature)) {
            return refuse(BAD_SIGNATURE, "node " + node + " proposes key " + s.publicKey + " and endpoints " + s.endpoints + " with a signature"
                    + " that identity " + fingerprint + " did not make; the other nodes keep " + accepted(spec)
                    + ". Someone other than the node-daemon of " + node + " wrote this status, e.g. with another node's credentials:"
                    + " find that node (audit log), and" + CLEAR.replace("NODE", node));
        }
        if (heldByAnother(keyHolders, s.publicKey, name) || heldByAnother(keyHolders, s.kemPublicKey, name)) {
            return refuse(KEY_IN_USE, "node " + node + " proposes a key another node of the mesh holds (" + s.publicKey + "): two peers cannot"
                    + " share a key; the other nodes keep " + accepted(spec) + ". Someone other than the node-daemon of " + node + " made this"
                    + " proposal: find who (audit log), and" + CLEAR.replace("NODE", node));
        }
        // Generations count per identity: a new identity (approved, or a re-created Node's) is not judged by the old
        // one's, so one accepted by mistake with an inflated generation cannot lock the real node out afterwards.
        long floor = !sameIdentity || known.proposalGeneration == null ? 0 : known.proposalGeneration;
        if (s.proposal.generation <= floor) {
            return refuse(REPLAYED, "node " + node + " proposes key " + s.publicKey + " with generation " + s.proposal.generation + ", not above the"
                    + " accepted " + floor + ": an old proposal replayed; the other nodes keep " + accepted(spec) + ". Find who wrote it"
                    + " (audit log), and" + CLEAR.replace("NODE", node));
        }
        String approved = member.getMetadata().getAnnotations() == null ? null : member.getMetadata().getAnnotations().get(WireGuardNode.APPROVED_IDENTITY);
        if (known == null || known.signingKey == null) {
            if (nodeUid == null) return new ProposalReview(Verdict.WAIT, "NodeUnknown", "Node " + node + " not found: no identity to bind", null, null);
            if (trustFirstUse) return accept(FIRST_USE, "identity " + fingerprint + " of node " + node + " trusted on first use", p, nodeUid, fingerprint, now);
            if (fingerprint.equals(approved)) {
                return accept(APPROVED, "first identity " + fingerprint + " of node " + node + " approved by an admin", p, nodeUid, fingerprint, now);
            }
            return refuse(AWAITING_APPROVAL, "node " + node + " presents its first identity " + fingerprint + "; this operator trusts no"
                    + " identity on first use (operator.trustOnFirstUse: false), so node " + node + " has no peers yet. Compare the"
                    + " fingerprint with the one the node-daemon on " + node + " logs at start, then run: wiremesh node approve " + node
                    + " " + fingerprint + " --mesh " + spec.mesh + (approved != null ? " (the approved " + approved + " is not the one presented)" : ""));
        }
        if (sameIdentity) {
            return new ProposalReview(Verdict.ACCEPT, SIGNED, "key " + s.publicKey + " and endpoints " + s.endpoints + " signed by node " + node
                    + "'s identity (generation " + s.proposal.generation + ")", identity(known.signingKey, known.fingerprint,
                    nodeUid != null ? nodeUid : known.nodeUID, s.proposal.generation, known.acceptedTime), p);
        }
        if (trustFirstUse && nodeUid != null && !nodeUid.equals(known.nodeUID)) {
            return accept(NODE_RECREATED, "Node " + node + " was re-created (uid " + nodeUid + ", was " + known.nodeUID + "): its new identity "
                    + fingerprint + " is trusted on first use", p, nodeUid, fingerprint, now);
        }
        if (fingerprint.equals(approved)) {
            return accept(APPROVED, "identity " + fingerprint + " of node " + node + " approved by an admin (annotation "
                    + WireGuardNode.APPROVED_IDENTITY + ")", p, nodeUid != null ? nodeUid : known.nodeUID, fingerprint, now);
        }
        // No ready-made approve command with the presented fingerprint: whoever wrote this status chose it.
        return refuse(IDENTITY_CHANGED, "node " + node + "'s status presents identity " + fingerprint + ", not its accepted "
                + known.fingerprint + (trustFirstUse ? ", and its Node was not re-created" : " (trust on first use is off: a re-created"
                + " Node needs approval too)") + "; the other nodes keep " + accepted(spec) + ". If the node's disk was not wiped, another"
                + " node's credentials wrote this status: approve nothing (the node-daemon writes its own proposal back). If it was wiped"
                + " (its pods are unreachable until approved), read the fingerprint the node-daemon on " + node + " logs at start (\"identity"
                + " SHA256:...\"); only if it is " + fingerprint + ", run wiremesh node approve " + node + " FINGERPRINT --mesh " + spec.mesh
                + (approved != null ? " (the approved " + approved + " is not the one presented)" : ""));
    }

    /** The accepted keys of {@code members} (WireGuard and ML-KEM) -> the WireGuardNode holding each: {@link #of}'s {@code keyHolders}. */
    public static java.util.Map<String, String> keyHolders(java.util.Collection<WireGuardNode> members) {
        java.util.Map<String, String> holders = new java.util.HashMap<>();
        for (WireGuardNode m : members) {
            if (m.getSpec() == null) continue;
            if (m.getSpec().publicKey != null) holders.put(m.getSpec().publicKey, m.getMetadata().getName());
            if (m.getSpec().kemPublicKey != null) holders.put(m.getSpec().kemPublicKey, m.getMetadata().getName());
        }
        return holders;
    }

    private static boolean heldByAnother(java.util.Map<String, String> keyHolders, String key, String member) {
        String holder = key == null ? null : keyHolders.get(key);
        return holder != null && !holder.equals(member);
    }

    /** How a refused status clears: the node-daemon notices a status it did not write and writes its own proposal back. */
    private static final String CLEAR = " the node-daemon on NODE writes its own proposal back within seconds (nothing is misrouted"
            + " meanwhile); if this condition stays, restart that pod";

    private static String accepted(WireGuardNodeSpec spec) {
        return spec.publicKey == null ? "no key for it (none accepted yet)" : "the accepted key " + spec.publicKey;
    }

    private static ProposalReview refuse(String reason, String message) {
        return new ProposalReview(Verdict.REFUSE, reason, message, null, null);
    }

    private static ProposalReview accept(String reason, String message, Proposal p, String uid, String fingerprint, Instant now) {
        return new ProposalReview(Verdict.ACCEPT, reason, message, identity(p.identityKey(), fingerprint, uid, p.generation(), now.toString()), p);
    }

    private static WireGuardNodeSpec.Identity identity(String key, String fingerprint, String uid, long generation, String since) {
        WireGuardNodeSpec.Identity i = new WireGuardNodeSpec.Identity();
        i.signingKey = key;
        i.fingerprint = fingerprint;
        i.nodeUID = uid;
        i.proposalGeneration = generation;
        i.acceptedTime = since;
        return i;
    }

    /** Whether this review accepts a new identity (not a routine signed change): worth a Normal event. */
    public boolean newIdentity() {
        return verdict == Verdict.ACCEPT && List.of(NODE_RECREATED, APPROVED).contains(reason);
    }
}
