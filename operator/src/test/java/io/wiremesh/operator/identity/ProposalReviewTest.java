package io.wiremesh.operator.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.identity.Proposal;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.operator.identity.ProposalReview.Verdict;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProposalReviewTest {
    static final String K1 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    static final String K2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    static final List<String> EP = List.of("10.1.0.2:51820");
    static final Instant NOW = Instant.parse("2026-12-01T00:00:00Z");

    final KeyPair node = ed25519();
    final KeyPair attacker = ed25519();

    static KeyPair ed25519() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static WireGuardNode member() {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m.n2").build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().mesh = "m";
        w.getSpec().nodeName = "n2";
        return w;
    }

    /** The status a node-daemon holding {@code id} writes: these values, signed with this generation. */
    static void propose(WireGuardNode w, KeyPair id, long generation, String key, List<String> endpoints) {
        WireGuardNodeStatus s = new WireGuardNodeStatus();
        s.publicKey = key;
        s.endpoints = endpoints;
        s.identityKey = Proposal.base64(id.getPublic());
        s.proposal = new WireGuardNodeStatus.ProposalSignature();
        s.proposal.generation = generation;
        s.proposal.signature = sign(id, new Proposal(w.getMetadata().getName(), w.getSpec().nodeName, generation, s.identityKey, key, null, endpoints));
        w.setStatus(s);
    }

    static String sign(KeyPair id, Proposal p) {
        try {
            Signature sig = Signature.getInstance("Ed25519");
            sig.initSign(id.getPrivate());
            sig.update(p.message());
            return Base64.getEncoder().encodeToString(sig.sign());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Applies an accepted review to the member's spec, as the operator does. */
    static void apply(WireGuardNode w, ProposalReview r) {
        assertThat(r.verdict()).isEqualTo(Verdict.ACCEPT);
        w.getSpec().publicKey = r.proposal().publicKey();
        w.getSpec().kemPublicKey = r.proposal().kemPublicKey();
        w.getSpec().endpoints = r.proposal().endpoints();
        w.getSpec().identity = r.accepted();
    }

    /** A member whose identity and key K1 (generation 1) were accepted for Node uid-1. */
    WireGuardNode accepted() {
        WireGuardNode w = member();
        propose(w, node, 1, K1, EP);
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.FIRST_USE);
        apply(w, r);
        return w;
    }

    @Test
    void theFirstSignedProposalIsTrustedOnFirstUseAndBoundToTheNode() {
        WireGuardNode w = accepted();
        assertThat(w.getSpec().publicKey).isEqualTo(K1);
        assertThat(w.getSpec().endpoints).isEqualTo(EP);
        assertThat(w.getSpec().identity.signingKey).isEqualTo(Proposal.base64(node.getPublic()));
        assertThat(w.getSpec().identity.fingerprint).isEqualTo(Proposal.fingerprint(w.getSpec().identity.signingKey));
        assertThat(w.getSpec().identity.nodeUID).isEqualTo("uid-1");
        assertThat(w.getSpec().identity.proposalGeneration).isEqualTo(1);
        assertThat(w.getSpec().identity.acceptedTime).isEqualTo(NOW.toString());
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).verdict()).isEqualTo(Verdict.CURRENT);
    }

    @Test
    void nothingIsTrustedBeforeTheNodeProposesOrWithoutItsNode() {
        WireGuardNode w = member();
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).verdict()).isEqualTo(Verdict.WAIT);
        propose(w, node, 1, K1, EP);
        assertThat(ProposalReview.of(w, null, Map.of(), NOW).verdict()).isEqualTo(Verdict.WAIT);
        w.getStatus().proposal = null;
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.UNSIGNED);
    }

    @Test
    void aChangeSignedByTheAcceptedIdentityIsAccepted() {
        WireGuardNode w = accepted();
        propose(w, node, 2, K2, List.of("10.1.0.2:51830"));
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW.plusSeconds(60));
        assertThat(r.reason()).isEqualTo(ProposalReview.SIGNED);
        assertThat(r.newIdentity()).isFalse();
        apply(w, r);
        assertThat(w.getSpec().publicKey).isEqualTo(K2);
        assertThat(w.getSpec().identity.proposalGeneration).isEqualTo(2);
        assertThat(w.getSpec().identity.acceptedTime).isEqualTo(NOW.toString()); // the identity's, not the key's
    }

    @Test
    void anotherNodesKeyUnsignedOrSignedByAnotherIdentityIsRefusedAndTheSpecKept() {
        WireGuardNode w = accepted();
        // Unsigned: the attacker only writes its own WireGuard key.
        w.getStatus().publicKey = K2;
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.verdict()).isEqualTo(Verdict.REFUSE);
        assertThat(r.reason()).isEqualTo(ProposalReview.BAD_SIGNATURE); // the old signature does not cover the new key
        w.getStatus().proposal = null;
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.UNSIGNED);

        // Signed with the node's identity key named, but by the attacker's private key.
        propose(w, node, 5, K2, EP);
        w.getStatus().proposal.signature = sign(attacker, new Proposal("m.n2", "n2", 5, Proposal.base64(node.getPublic()), K2, null, EP));
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.BAD_SIGNATURE);

        // The attacker's own identity, signing its own proposal: a changed identity, held.
        propose(w, attacker, 5, K2, EP);
        r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        assertThat(r.message()).contains("only if it is " + Proposal.fingerprint(Proposal.base64(attacker.getPublic())) + ", run wiremesh node approve n2")
                .contains("approve nothing").contains("the accepted key " + K1);

        // A signature of another node's proposal (the attacker's own WireGuardNode) does not carry over.
        WireGuardNode other = member();
        other.getMetadata().setName("m.n1");
        other.getSpec().nodeName = "n1";
        propose(other, node, 5, K2, EP);
        propose(w, node, 5, K2, EP);
        w.getStatus().proposal.signature = other.getStatus().proposal.signature;
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.BAD_SIGNATURE);
    }

    @Test
    void anOldSignedProposalReplayedIsRefused() {
        WireGuardNode w = accepted();
        WireGuardNodeStatus old = w.getStatus();
        propose(w, node, 2, K2, EP);
        apply(w, ProposalReview.of(w, "uid-1", Map.of(), NOW));
        w.setStatus(old); // generation 1, K1: genuinely signed, but superseded
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.REPLAYED);
        assertThat(r.message()).contains("generation 1").contains("accepted 2");
    }

    @Test
    void aLostIdentityIsHeldUntilTheNodeIsRecreatedOrItsFingerprintApproved() {
        KeyPair wiped = ed25519();
        String fp = Proposal.fingerprint(Proposal.base64(wiped.getPublic()));

        WireGuardNode w = accepted();
        propose(w, wiped, 2, K2, EP);
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        assertThat(r.message()).contains(fp).contains(w.getSpec().identity.fingerprint);

        // An approval of another fingerprint does nothing, and says so.
        w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, Proposal.fingerprint(K1)));
        r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        assertThat(r.message()).contains("is not the one presented");

        w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, fp));
        r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.APPROVED);
        assertThat(r.newIdentity()).isTrue();
        assertThat(r.accepted().nodeUID).isEqualTo("uid-1");
        assertThat(r.accepted().signingKey).isEqualTo(Proposal.base64(wiped.getPublic()));

        WireGuardNode again = accepted();
        propose(again, wiped, 2, K2, EP);
        r = ProposalReview.of(again, "uid-2", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.NODE_RECREATED);
        assertThat(r.accepted().nodeUID).isEqualTo("uid-2");
        // A new identity's self-signature must still be right.
        again.getStatus().proposal.signature = sign(attacker, new Proposal("m.n2", "n2", 2, again.getStatus().identityKey, K2, null, EP));
        assertThat(ProposalReview.of(again, "uid-2", Map.of(), NOW).reason()).isEqualTo(ProposalReview.BAD_SIGNATURE);
    }

    @Test
    void malformedInputIsRefusedNotThrown() {
        WireGuardNode w = accepted();
        propose(w, node, 2, K2, EP);
        w.getStatus().identityKey = "%%%";
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.BAD_SIGNATURE);
        propose(w, node, 2, K2, EP);
        w.getStatus().proposal.signature = "AAAA";
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.BAD_SIGNATURE);
    }

    @Test
    void aKeyAnotherNodeHoldsIsRefusedEvenSignedByTheNodesOwnIdentity() {
        WireGuardNode w = accepted();
        propose(w, node, 2, K2, EP);
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(K2, "m.n1"), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.KEY_IN_USE);
        assertThat(r.message()).contains("another node of the mesh holds");
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.SIGNED);
    }

    @Test
    void aRecreatedNodeThatKeptItsIdentityIsBoundToItsNewUidSoALaterStrangerIsHeld() {
        WireGuardNode w = accepted();
        ProposalReview r = ProposalReview.of(w, "uid-2", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.NODE_REBOUND);
        assertThat(r.newIdentity()).isFalse();
        apply(w, r);
        assertThat(w.getSpec().identity.nodeUID).isEqualTo("uid-2");
        assertThat(w.getSpec().publicKey).isEqualTo(K1);
        assertThat(w.getSpec().identity.signingKey).isEqualTo(Proposal.base64(node.getPublic()));
        // Another identity now, on the same (re-created) Node: held, not trusted as the new Node's first.
        propose(w, attacker, 9, K2, EP);
        assertThat(ProposalReview.of(w, "uid-2", Map.of(), NOW).reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        // A signed change on a re-created Node carries the new UID too.
        WireGuardNode v = accepted();
        propose(v, node, 2, K2, EP);
        assertThat(ProposalReview.of(v, "uid-3", Map.of(), NOW).accepted().nodeUID).isEqualTo("uid-3");
    }

    @Test
    void withoutTrustOnFirstUseEveryFirstIdentityWaitsForApproval() {
        WireGuardNode w = member();
        propose(w, node, 1, K1, EP);
        String fp = Proposal.fingerprint(Proposal.base64(node.getPublic()));
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), false, NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.AWAITING_APPROVAL);
        assertThat(r.message()).contains("wiremesh node approve n2 " + fp + " --mesh m");
        w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, fp));
        r = ProposalReview.of(w, "uid-1", Map.of(), false, NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.APPROVED);
        assertThat(r.newIdentity()).isTrue();
        apply(w, r);
        // Signed changes of the approved identity pass as usual; a re-created Node's new identity waits too.
        propose(w, node, 2, K2, EP);
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), false, NOW).reason()).isEqualTo(ProposalReview.SIGNED);
        propose(w, attacker, 3, K2, EP);
        w.getMetadata().setAnnotations(null);
        r = ProposalReview.of(w, "uid-2", Map.of(), false, NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        assertThat(r.message()).contains("trust on first use is off");
    }

    @Test
    void anIdentityApprovedByMistakeWithAnInflatedGenerationDoesNotLockTheRealNodeOut() {
        WireGuardNode w = accepted();
        // The admin approved the attacker's fingerprint; the attacker proposes at generation 50.
        propose(w, attacker, 50, K2, EP);
        w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, Proposal.fingerprint(Proposal.base64(attacker.getPublic()))));
        apply(w, ProposalReview.of(w, "uid-1", Map.of(), NOW));
        assertThat(w.getSpec().identity.proposalGeneration).isEqualTo(50);
        // The real (wiped) node's identity, approved once seen, is accepted at its own low generation.
        KeyPair real = ed25519();
        propose(w, real, 2, K1, EP);
        assertThat(ProposalReview.of(w, "uid-1", Map.of(), NOW).reason()).isEqualTo(ProposalReview.IDENTITY_CHANGED);
        w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, Proposal.fingerprint(Proposal.base64(real.getPublic()))));
        ProposalReview r = ProposalReview.of(w, "uid-1", Map.of(), NOW);
        assertThat(r.reason()).isEqualTo(ProposalReview.APPROVED);
        assertThat(r.accepted().proposalGeneration).isEqualTo(2);
    }
}
