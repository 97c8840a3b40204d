package io.wiremesh.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wiremesh.api.identity.Proposal;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.operator.mesh.MeshReconciler;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One node's credentials against another node's entry, on a real kube-apiserver with the chart's RBAC:
 * the node-daemons' ServiceAccount (a token from the TokenRequest API, as a pod holds) writes node
 * B's status with node A's key, unsigned, forged, with A's own identity and as a replay of B's own
 * older proposal; the operator keeps B's accepted key, sets Degraded, raises an Event and counts it.
 * B's own signed change, a wiped B approved by fingerprint and a re-created Node are accepted.
 */
class NodeProposalTest {
    static final String KEY_A = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    static final String KEY_B = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    static final String KEY_B2 = "EJ0ok6O3JZ5/gB7dPWmbWqfcR/fGz5lXYQwJ3hGc7V8=";
    static final String KEY_B3 = "GBzUfnVMyN5NNn1AgbRvQ7cl2+l6N7ZC2wKtpeTbHXo=";
    /** A key the attacker made for the purpose (it holds the private half). */
    static final String KEY_A2 = "JoDScwNDRZzk8hMMMTEO242GAWfKQQ+TNY78zVbFryk=";
    static final String KEY_X = "UzogCspr5zx0eSGgML6gjxd7mRJ7wqicIXSnZmos5eU=";
    private KubernetesClient admin;
    private KubernetesClient asNode;
    private Operator operator;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private String id;
    private String namespace;
    private String mesh;
    private final List<HasMetadata> created = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        admin = KubeApiServer.client();
        id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
        namespace = "wm-rbac-" + id;
        created.add(admin.resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build()).create());
        // The chart's own RBAC (and the namespace of peer keys), release "wm-<id>" in that namespace.
        String chart = new com.marcnuri.helm.Helm(KubeApiServer.ROOT.resolve("charts/wiremesh")).template().withName("wm-" + id)
                .withNamespace(namespace).set("peerKeys.namespace", namespace + "-keys").call();
        for (HasMetadata o : admin.load(new ByteArrayInputStream(chart.getBytes(StandardCharsets.UTF_8))).items()) {
            if (List.of("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding").contains(o.getKind())) {
                created.add(admin.resource(o).create());
            }
        }
        String token = admin.serviceAccounts().inNamespace(namespace).withName("wm-" + id + "-node")
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build()).getStatus().getToken();
        Config c = Config.fromKubeconfig(KubeApiServer.kubeconfig());
        asNode = new KubernetesClientBuilder().withConfig(new ConfigBuilder(c).withClientCertData(null).withClientKeyData(null)
                .withClientCertFile(null).withClientKeyFile(null).withOauthToken(token).build()).build();

        operator = new Operator(o -> o.withKubernetesClient(admin).withCloseClientOnStop(false));
        operator.register(new MeshReconciler(Duration.ofSeconds(60), registry));
        operator.start();
    }

    @AfterEach
    void tearDown() {
        if (operator != null) operator.stop();
        if (mesh != null) {
            admin.resources(WireGuardMesh.class).withName(mesh).delete();
            admin.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, mesh).delete();
        }
        admin.nodes().withLabel("wiremesh-test", id).delete();
        for (HasMetadata o : created.reversed()) admin.resource(o).delete();
        if (asNode != null) asNode.close();
    }

    private String node(String name) {
        String full = "n-" + id + "-" + name;
        admin.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(full).withLabels(Map.of("wiremesh-test", id)).build()).build())
                .create();
        return full;
    }

    private WireGuardNode get(String member) {
        return admin.resources(WireGuardNode.class).withName(member).get();
    }

    /** What a node-daemon holding {@code identity} writes: its key and endpoint, signed at {@code generation}. */
    private void propose(KubernetesClient as, String member, KeyPair identity, long generation, String key) {
        await().atMost(Liveness.BOUND).ignoreExceptions().until(() -> as.resources(WireGuardNode.class).withName(member).editStatus(w -> {
            if (w.getStatus() == null) w.setStatus(new WireGuardNodeStatus());
            WireGuardNodeStatus s = w.getStatus();
            s.publicKey = key;
            s.endpoints = List.of("10.9.0." + (member.endsWith("-a") ? 1 : 2) + ":51820");
            s.identityKey = Proposal.base64(identity.getPublic());
            s.proposal = new WireGuardNodeStatus.ProposalSignature();
            s.proposal.generation = generation;
            s.proposal.signature = sign(identity, new Proposal(member, w.getSpec().nodeName, generation, s.identityKey, key, null, s.endpoints));
            return w;
        }) != null);
    }

    private static String sign(KeyPair identity, Proposal p) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(identity.getPrivate());
            s.update(p.message());
            return Base64.getEncoder().encodeToString(s.sign());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether the node credentials may do this, as the API server answers a SelfSubjectAccessReview. */
    private boolean can(String verb, String group, String resource, String subresource, String ns) {
        var review = new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder().withNewSpec().withNewResourceAttributes()
                .withVerb(verb).withGroup(group).withResource(resource).withSubresource(subresource).withNamespace(ns).withName("x")
                .endResourceAttributes().endSpec().build();
        return asNode.authorization().v1().selfSubjectAccessReview().create(review).getStatus().getAllowed();
    }

    private String degraded(String member) {
        WireGuardNode w = get(member);
        var c = w.getStatus() == null ? null : Conditions.find(w.getStatus().conditions, Conditions.DEGRADED);
        return c == null ? null : c.getStatus() + "/" + c.getReason();
    }

    private double refused(String reason) {
        Counter c = registry.find("wiremesh.operator.proposals").tags("verdict", "refused", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private boolean eventAbout(String member, String reason) {
        return admin.v1().events().inNamespace("default").list().getItems().stream()
                .anyMatch(e -> member.equals(e.getInvolvedObject().getName()) && "ProposalRefused".equals(e.getReason())
                        && e.getMessage().startsWith(reason + ":"));
    }

    /** Waits until {@code member}'s Degraded condition has {@code reason}, then checks the spec kept {@code key}, the Event and the metric. */
    private void refusedAs(String member, String reason, String key) {
        await().atMost(Liveness.BOUND).until(() -> ("True/" + reason).equals(degraded(member)));
        assertThat(get(member).getSpec().publicKey).as("accepted key kept").isEqualTo(key);
        await().atMost(Liveness.BOUND).until(() -> eventAbout(member, reason));
        assertThat(refused(reason)).isGreaterThanOrEqualTo(1);
    }

    @Test
    void anotherNodesCredentialsCannotChangeANodesKeyButItsOwnSignedChangesPass() throws Exception {
        KeyPair idA = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        KeyPair idB = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String nodeA = node("a"), nodeB = node("b");
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName("trust-" + id).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.48.0.0/16");
        m.getSpec().nodeSelector = Map.of("wiremesh-test", id);
        mesh = admin.resource(m).create().getMetadata().getName();
        String a = WireGuardNode.nameFor(mesh, nodeA), b = WireGuardNode.nameFor(mesh, nodeB);
        await().atMost(Liveness.BOUND).until(() -> get(a) != null && get(b) != null);

        // Both node-daemons (the one ServiceAccount) publish signed proposals: trusted on first use, bound to the Nodes.
        propose(asNode, a, idA, 1, KEY_A);
        propose(asNode, b, idB, 1, KEY_B);
        await().atMost(Liveness.BOUND).until(() -> KEY_A.equals(get(a).getSpec().publicKey) && KEY_B.equals(get(b).getSpec().publicKey));
        assertThat(get(b).getSpec().identity.nodeUID).isEqualTo(admin.nodes().withName(nodeB).get().getMetadata().getUid());
        assertThat(get(b).getSpec().identity.fingerprint).isEqualTo(Proposal.fingerprint(Proposal.base64(idB.getPublic())));
        assertThat(get(b).getSpec().endpoints).containsExactly("10.9.0.2:51820");

        // The node credentials cannot write any spec, nor approve an identity.
        assertThatThrownBy(() -> asNode.resources(WireGuardNode.class).withName(b).edit(w -> { w.getSpec().publicKey = KEY_A; return w; }))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
        assertThatThrownBy(() -> asNode.resources(WireGuardNode.class).withName(b).edit(w -> {
            w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, "SHA256:x"));
            return w;
        })).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));

        // What else the node credentials may do (the API server's own answer, as `kubectl auth can-i` asks it): any
        // WireGuardNode's status (Kubernetes cannot tell nodes apart: hence the signatures), Secrets only in the peer-keys
        // namespace (the release namespace holds the operator's token on old clusters), no WireGuardPeer status (its
        // addresses and gateway decide where every node sends a device's traffic), no spec.
        assertThat(can("patch", "wiremesh.io", "wireguardnodes", "status", null)).isTrue();
        assertThat(can("patch", "wiremesh.io", "wireguardnodes", "", null)).isFalse();
        assertThat(can("patch", "wiremesh.io", "wireguardpeers", "status", null)).isFalse();
        assertThat(can("get", "", "secrets", "", namespace)).isFalse();
        assertThat(can("get", "", "secrets", "", namespace + "-keys")).isTrue();
        assertThat(can("list", "", "secrets", "", namespace + "-keys")).isFalse();

        // 1. B's status with A's key (what the attacker holds), B's old signature left in place.
        asNode.resources(WireGuardNode.class).withName(b).editStatus(w -> { w.getStatus().publicKey = KEY_A; return w; });
        refusedAs(b, "BadSignature", KEY_B);
        // 2. ... without any signature.
        asNode.resources(WireGuardNode.class).withName(b).editStatus(w -> { w.getStatus().proposal = null; return w; });
        refusedAs(b, "Unsigned", KEY_B);
        // 3. ... a key of its own, signed by A's identity as a proposal for B: a changed identity, held for an admin.
        propose(asNode, b, idA, 7, KEY_X);
        refusedAs(b, "IdentityChanged", KEY_B);
        assertThat(Conditions.find(get(b).getStatus().conditions, Conditions.DEGRADED).getMessage())
                .contains("only if it is " + Proposal.fingerprint(Proposal.base64(idA.getPublic())) + ", run wiremesh node approve " + nodeB)
                .contains("approve nothing");

        // B's own signed change (a key rotation) is accepted (how soon: printed); the condition clears.
        long t0 = System.nanoTime();
        propose(asNode, b, idB, 2, KEY_B2);
        await().atMost(Liveness.BOUND).until(() -> KEY_B2.equals(get(b).getSpec().publicKey));
        System.out.printf("signed key change accepted into the spec after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        await().atMost(Liveness.BOUND).until(() -> "False/Accepted".equals(degraded(b)));
        assertThat(get(b).getSpec().identity.proposalGeneration).isEqualTo(2);

        // 4. B's genuine proposal of generation 1 replayed.
        propose(asNode, b, idB, 1, KEY_B);
        refusedAs(b, "Replayed", KEY_B2);
        assertThat(get(a).getSpec().publicKey).as("A's entry untouched by the attacks on B").isEqualTo(KEY_A);
        // 5. A claims B's key for its own entry, signed by its own identity: both would share one key in every peer list.
        propose(asNode, a, idA, 2, KEY_B2);
        refusedAs(a, "KeyInUse", KEY_A);
        // 6. A status the operator's own code could trip on (a condition without a type) stops nothing: B is
        //    refused, and A's next genuine change is still accepted in the same passes.
        asNode.resources(WireGuardNode.class).withName(b).editStatus(w -> {
            w.getStatus().publicKey = KEY_X;
            w.getStatus().conditions = new ArrayList<>(List.of(new io.fabric8.kubernetes.api.model.ConditionBuilder().withStatus("True").build()));
            return w;
        });
        propose(asNode, a, idA, 3, KEY_A2);
        await().atMost(Liveness.BOUND).until(() -> KEY_A2.equals(get(a).getSpec().publicKey));
        refusedAs(b, "BadSignature", KEY_B2);

        // B's disk is wiped: a new identity is held until an admin approves its fingerprint.
        KeyPair wiped = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String fingerprint = Proposal.fingerprint(Proposal.base64(wiped.getPublic()));
        propose(asNode, b, wiped, 3, KEY_B3);
        refusedAs(b, "IdentityChanged", KEY_B2);
        admin.resources(WireGuardNode.class).withName(b).edit(w -> {
            w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, fingerprint));
            return w;
        });
        await().atMost(Liveness.BOUND).until(() -> KEY_B3.equals(get(b).getSpec().publicKey));
        assertThat(get(b).getSpec().identity.fingerprint).isEqualTo(fingerprint);
        assertThat(get(b).getMetadata().getAnnotations()).doesNotContainKey(WireGuardNode.APPROVED_IDENTITY);

        // Wiped again, and this time the Node object is re-created (a re-imaged machine re-registers): accepted.
        KeyPair reimaged = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        propose(asNode, b, reimaged, 4, KEY_B);
        refusedAs(b, "IdentityChanged", KEY_B3);
        String oldUid = admin.nodes().withName(nodeB).get().getMetadata().getUid();
        admin.nodes().withName(nodeB).delete();
        await().atMost(Liveness.BOUND).until(() -> admin.nodes().withName(nodeB).get() == null);
        node("b");
        await().atMost(Liveness.BOUND).until(() -> KEY_B.equals(get(b).getSpec().publicKey));
        assertThat(get(b).getSpec().identity.nodeUID).isNotEqualTo(oldUid).isEqualTo(admin.nodes().withName(nodeB).get().getMetadata().getUid());
    }

    @Test
    void withoutTrustOnFirstUseANodesFirstIdentityWaitsForTheAdmin() throws Exception {
        operator.stop();
        operator = new Operator(o -> o.withKubernetesClient(admin).withCloseClientOnStop(false));
        operator.register(new MeshReconciler(Duration.ofSeconds(60), false, registry));
        operator.start();
        KeyPair idA = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String nodeA = node("a");
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName("approve-" + id).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.49.0.0/16");
        m.getSpec().nodeSelector = Map.of("wiremesh-test", id);
        mesh = admin.resource(m).create().getMetadata().getName();
        String a = WireGuardNode.nameFor(mesh, nodeA);
        await().atMost(Liveness.BOUND).until(() -> get(a) != null);
        propose(asNode, a, idA, 1, KEY_A);
        refusedAs(a, "AwaitingApproval", null);
        String fingerprint = Proposal.fingerprint(Proposal.base64(idA.getPublic()));
        admin.resources(WireGuardNode.class).withName(a).edit(w -> {
            w.getMetadata().setAnnotations(Map.of(WireGuardNode.APPROVED_IDENTITY, fingerprint));
            return w;
        });
        await().atMost(Liveness.BOUND).until(() -> KEY_A.equals(get(a).getSpec().publicKey));
        assertThat(get(a).getSpec().identity.fingerprint).isEqualTo(fingerprint);
        await().atMost(Liveness.BOUND).until(() -> "False/Accepted".equals(degraded(a)));
    }
}
