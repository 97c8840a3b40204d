package io.wiremesh.api.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProposalTest {
    private static final String WG = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    private static final String WG2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    private static String sign(KeyPair k, Proposal p) throws Exception {
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(k.getPrivate());
        s.update(p.message());
        return Base64.getEncoder().encodeToString(s.sign());
    }

    private static Proposal proposal(KeyPair k, String name, long generation, String wg, List<String> endpoints) {
        return new Proposal(name, name.substring(name.indexOf('.') + 1), generation, Proposal.base64(k.getPublic()), wg, null, endpoints);
    }

    @Test
    void aSignatureVerifiesOnlyForTheExactProposal() throws Exception {
        KeyPair k = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Proposal p = proposal(k, "default.n2", 3, WG, List.of("10.1.0.2:51820"));
        String sig = sign(k, p);
        assertThat(p.verify(sig)).isTrue();
        // Every field is bound: another node, generation, key or endpoint does not verify with the same signature.
        assertThat(proposal(k, "default.n1", 3, WG, List.of("10.1.0.2:51820")).verify(sig)).isFalse();
        assertThat(proposal(k, "default.n2", 4, WG, List.of("10.1.0.2:51820")).verify(sig)).isFalse();
        assertThat(proposal(k, "default.n2", 3, WG2, List.of("10.1.0.2:51820")).verify(sig)).isFalse();
        assertThat(proposal(k, "default.n2", 3, WG, List.of("10.1.0.9:51820")).verify(sig)).isFalse();
        assertThat(new Proposal("default.n2", "n2", 3, Proposal.base64(k.getPublic()), WG, "AAAA", List.of("10.1.0.2:51820")).verify(sig)).isFalse();
    }

    @Test
    void anotherKeysSignatureOrGarbageIsRefusedWithoutAnException() throws Exception {
        KeyPair k = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        KeyPair attacker = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Proposal p = proposal(k, "default.n2", 1, WG, List.of("10.1.0.2:51820"));
        assertThat(p.verify(sign(attacker, proposal(attacker, "default.n2", 1, WG, List.of("10.1.0.2:51820"))))).isFalse();
        assertThat(p.verify(null)).isFalse();
        assertThat(p.verify("not base64!")).isFalse();
        assertThat(p.verify(Base64.getEncoder().encodeToString(new byte[64]))).isFalse();
        assertThat(new Proposal("default.n2", "n2", 1, "AAAA", WG, null, List.of()).verify(sign(k, p))).isFalse();
    }

    @Test
    void theMessageIsTheDocumentedText() {
        Proposal p = new Proposal("m.n", "n", 7, "ID", "PK", null, List.of("10.0.0.1:1", "[fd00::1]:1"));
        assertThat(new String(p.message(), StandardCharsets.UTF_8)).isEqualTo("""
                wiremesh.io/v1alpha1 WireGuardNode proposal
                name: m.n
                node: n
                generation: 7
                identityKey: ID
                publicKey: PK
                kemPublicKey:\s
                endpoints: 10.0.0.1:1,[fd00::1]:1
                """);
    }

    @Test
    void fingerprintsAreShaOfTheRawKey() throws Exception {
        KeyPair k = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String key = Proposal.base64(k.getPublic());
        assertThat(Base64.getDecoder().decode(key)).hasSize(32);
        assertThat(Proposal.publicKey(key)).isEqualTo(k.getPublic());
        String f = Proposal.fingerprint(key);
        assertThat(Proposal.isFingerprint(f)).isTrue();
        assertThat(f).isEqualTo(Proposal.fingerprint(key)).isNotEqualTo(Proposal.fingerprint(WG));
        // RFC 8032 7.1 test 1's public key, whose SHA-256 is fixed.
        assertThat(Proposal.fingerprint(Base64.getEncoder().encodeToString(java.util.HexFormat.of()
                .parseHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))))
                .isEqualTo("SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(java.util.HexFormat.of().parseHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))));
        assertThat(Proposal.isFingerprint("SHA256:short")).isFalse();
        assertThat(Proposal.isFingerprint(null)).isFalse();
    }
}
