package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.operator.peer.PeerReconciler;
import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * External peers on a real kube-apiserver: addresses unique under concurrency, stable, released on delete;
 * gateways from the nodes' endpoints or their external-endpoint annotations.
 */
class PeerReconcilerTest {
    private KubernetesClient client;
    private Operator operator;
    private String id;
    private final List<String> meshes = new ArrayList<>();
    private final List<String> nodes = new ArrayList<>();

    @BeforeEach
    void setUp() {
        client = KubeApiServer.client();
        id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
        operator.register(new PeerReconciler());
        operator.start();
    }

    @AfterEach
    void tearDown() {
        operator.stop();
        client.resources(WireGuardPeer.class).list().getItems().stream().filter(p -> p.getMetadata().getName().endsWith(id))
                .forEach(p -> client.resource(p).delete());
        for (String m : meshes) {
            client.resources(WireGuardMesh.class).withName(m).delete();
            client.resources(io.wiremesh.api.v1alpha1.WireGuardNode.class).withLabel(io.wiremesh.api.v1alpha1.WireGuardNode.MESH_LABEL, m).delete();
        }
        for (String n : nodes) client.nodes().withName(n).delete();
    }

    private String mesh(String name, List<String> peerCIDRs) {
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(name + "-" + id).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.40.0.0/16");
        m.getSpec().nodeSelector = Map.of("none", id);
        m.getSpec().peerCIDRs = peerCIDRs;
        client.resource(m).create();
        meshes.add(m.getMetadata().getName());
        gatewayNode(m.getMetadata().getName(), "gw-" + name + "-" + id, "198.18.9." + (meshes.size() + 10) + ":51820", Map.of());
        return m.getMetadata().getName();
    }

    /**
     * A node of the mesh whose key and endpoint the operator accepted into its spec (played here: the
     * reconciler under test does not accept proposals), as its node-daemon proposed them in its status.
     */
    private void gatewayNode(String mesh, String node, String endpoint, Map<String, String> nodeLabels) {
        meshNode(mesh, node, endpoint, nodeLabels, true);
    }

    /** A node of the mesh that proposed its key and endpoint in its status; {@code accepted}: the operator accepted them. */
    private void meshNode(String mesh, String node, String endpoint, Map<String, String> nodeLabels, boolean accepted) {
        String key = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        client.resource(new io.fabric8.kubernetes.api.model.NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(node)
                .withLabels(nodeLabels).build()).build()).createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
        nodes.add(node);
        io.wiremesh.api.v1alpha1.WireGuardNode w = new io.wiremesh.api.v1alpha1.WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName(mesh + "." + node)
                .withLabels(Map.of(io.wiremesh.api.v1alpha1.WireGuardNode.MESH_LABEL, mesh)).build());
        w.setSpec(new io.wiremesh.api.v1alpha1.WireGuardNodeSpec());
        w.getSpec().mesh = mesh;
        w.getSpec().nodeName = node;
        w.getSpec().podCIDRs = List.of("10.40.1.0/24");
        if (accepted) {
            w.getSpec().publicKey = key;
            w.getSpec().endpoints = List.of(endpoint);
        }
        client.resource(w).create();
        client.resources(io.wiremesh.api.v1alpha1.WireGuardNode.class).withName(mesh + "." + node).editStatus(x -> {
            x.setStatus(new io.wiremesh.api.v1alpha1.WireGuardNodeStatus());
            x.getStatus().publicKey = key;
            x.getStatus().endpoints = List.of(endpoint);
            return x;
        });
    }

    private void peer(String name, String mesh) {
        WireGuardPeer p = new WireGuardPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(name + "-" + id).build());
        p.setSpec(new WireGuardPeerSpec());
        p.getSpec().mesh = mesh;
        p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        client.resource(p).create();
    }

    private WireGuardPeer get(String name) {
        return client.resources(WireGuardPeer.class).withName(name + "-" + id).get();
    }

    private static String ready(WireGuardPeer p, boolean message) {
        if (p == null || p.getStatus() == null || p.getStatus().conditions == null) return null;
        return p.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready"))
                .map(c -> message ? c.getMessage() : c.getStatus()).findFirst().orElse(null);
    }

    @Test
    void threeHundredPeersCreatedTogetherGetDistinctAddresses() throws Exception {
        String mesh = mesh("peers", List.of("10.99.0.0/23", "fd99::/112"));
        IntStream.range(0, 300).parallel().forEach(i -> peer("p" + i, mesh));
        await().atMost(120, TimeUnit.SECONDS).pollInterval(java.time.Duration.ofSeconds(1)).until(() ->
                IntStream.range(0, 300).allMatch(i -> "True".equals(ready(get("p" + i), false))));
        Set<String> v4 = new HashSet<>(), v6 = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            List<String> a = get("p" + i).getStatus().addresses;
            assertThat(a).hasSize(2);
            v4.add(a.get(0));
            v6.add(a.get(1));
        }
        assertThat(v4).hasSize(300).allMatch(a -> a.startsWith("10.99.") && a.endsWith("/32"));
        assertThat(v6).hasSize(300).allMatch(a -> a.startsWith("fd99::") && a.endsWith("/128"));

        // Deleting a peer returns its address; the next peer gets the lowest free one, the others never move.
        String released = get("p7").getStatus().addresses.get(0);
        String keptBefore = get("p8").getStatus().addresses.get(0);
        client.resources(WireGuardPeer.class).withName("p7-" + id).delete();
        await().atMost(Liveness.BOUND).until(() -> get("p7") == null);
        List<String> lowest = new ArrayList<>(v4);
        lowest.remove(released);
        peer("late", mesh);
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("late"), false)));
        String late = get("late").getStatus().addresses.get(0);
        assertThat(lowest).doesNotContain(late);
        assertThat(late).isEqualTo(released); // the 300 took the lowest addresses, so the released one is now the lowest free
        assertThat(get("p8").getStatus().addresses.get(0)).isEqualTo(keptBefore);
    }

    @Test
    void gatewaysAreTheNodesMatchingGatewayNodes() {
        String mesh = mesh("gw", List.of("10.97.0.0/24"));
        gatewayNode(mesh, "edge-" + id, "198.18.9.99:51820", Map.of("wiremesh.io/gateway", "true"));
        WireGuardPeer p = new WireGuardPeer();
        p.setMetadata(new ObjectMetaBuilder().withName("sel-" + id).build());
        p.setSpec(new WireGuardPeerSpec());
        p.getSpec().mesh = mesh;
        p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        p.getSpec().gatewayNodes = Map.of("wiremesh.io/gateway", "true");
        client.resource(p).create();
        peer("all", mesh);
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("sel"), false)) && "True".equals(ready(get("all"), false)));
        assertThat(get("sel").getStatus().gatewayEndpoints).containsExactly("198.18.9.99:51820");
        assertThat(get("all").getStatus().gatewayEndpoints).hasSize(2).contains("198.18.9.99:51820");
        peerWithSelector("none", mesh, Map.of("wiremesh.io/gateway", "nowhere"));
        await().atMost(Liveness.BOUND).until(() -> ready(get("none"), true) != null);
        assertThat(ready(get("none"), true)).contains("no ready node matches spec.gatewayNodes");
    }

    @Test
    void aNodeWhoseKeyAndEndpointAreOnlyProposedInItsStatusIsNoGateway() {
        String mesh = mesh("prop", List.of("10.94.0.0/24")); // its node gw-prop-<id> is accepted
        String accepted = "198.18.9." + (meshes.size() + 10) + ":51820";
        String proposing = "a-prop-" + id; // before gw-prop-<id> by name: it would be the gateway, were it accepted
        meshNode(mesh, proposing, "198.18.9.96:51820", Map.of("wiremesh.io/proposing", id), false);
        peer("prop", mesh);
        peerWithSelector("onlyproposing", mesh, Map.of("wiremesh.io/proposing", id));
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("prop"), false)) && ready(get("onlyproposing"), true) != null);
        assertThat(get("prop").getStatus().gatewayNode).isEqualTo("gw-prop-" + id);
        assertThat(get("prop").getStatus().gatewayEndpoints).containsExactly(accepted);
        var onlyProposing = readyCondition(get("onlyproposing"));
        assertThat(onlyProposing.getStatus()).isEqualTo("False");
        assertThat(onlyProposing.getReason()).isEqualTo("NoGateway");
        assertThat(get("onlyproposing").getStatus().gatewayNode).isNull();
        assertThat(get("onlyproposing").getStatus().gatewayEndpoints).isEmpty();
    }

    private void peerWithSelector(String name, String mesh, Map<String, String> selector) {
        WireGuardPeer p = new WireGuardPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(name + "-" + id).build());
        p.setSpec(new WireGuardPeerSpec());
        p.getSpec().mesh = mesh;
        p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        p.getSpec().gatewayNodes = selector;
        client.resource(p).create();
    }

    /** Sets (or with null removes) a Node's wiremesh.io/external-endpoint annotation, as an admin would. */
    private void externalEndpoint(String node, String value) {
        client.nodes().withName(node).edit(n -> {
            if (n.getMetadata().getAnnotations() == null) n.getMetadata().setAnnotations(new java.util.HashMap<>());
            if (value == null) n.getMetadata().getAnnotations().remove("wiremesh.io/external-endpoint");
            else n.getMetadata().getAnnotations().put("wiremesh.io/external-endpoint", value);
            return n;
        });
    }

    private static io.fabric8.kubernetes.api.model.Condition readyCondition(WireGuardPeer p) {
        return p == null || p.getStatus() == null ? null
                : p.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().orElse(null);
    }

    @Test
    void anExternalEndpointAnnotationIsWhatDevicesDialAndABadOneIsNamed() {
        String mesh = mesh("ext", List.of("10.95.0.0/24")); // its node gw-ext-<id> has no annotation
        String plain = "198.18.9." + (meshes.size() + 10) + ":51820";
        String edge = "a-edge-" + id; // before gw-ext-<id> by name: the gateway
        gatewayNode(mesh, edge, "198.18.9.98:51820", Map.of());
        externalEndpoint(edge, "vpn.example.test:4500");
        String bad = "b-bad-" + id;
        gatewayNode(mesh, bad, "198.18.9.97:51820", Map.of("wiremesh.io/bad-gw", id));
        externalEndpoint(bad, "vpn_gw.example.test:51820");
        peer("ext", mesh);
        peerWithSelector("onlybad", mesh, Map.of("wiremesh.io/bad-gw", id));
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("ext"), false)) && readyCondition(get("onlybad")) != null);

        WireGuardPeer ext = get("ext");
        assertThat(ext.getStatus().gatewayNode).isEqualTo(edge);
        assertThat(ext.getStatus().gatewayEndpoints).containsExactly("vpn.example.test:4500", plain);
        String[] named = {"node " + bad, "wiremesh.io/external-endpoint=\"vpn_gw.example.test:51820\"", "label \"vpn_gw\"",
                "expected HOST[:PORT]", "DNS name"};
        assertThat(ready(ext, true)).contains("gateway node " + edge + " at vpn.example.test:4500").contains(named);
        // The bad node was the only one this peer may use: no gateway, and the condition says why.
        var onlyBad = readyCondition(get("onlybad"));
        assertThat(onlyBad.getStatus()).isEqualTo("False");
        assertThat(onlyBad.getReason()).isEqualTo("NoGateway");
        assertThat(onlyBad.getMessage()).contains(named);
        assertThat(get("onlybad").getStatus().gatewayNode).isNull();
        assertThat(get("onlybad").getStatus().gatewayEndpoints).isEmpty();
        await().atMost(Liveness.BOUND).until(() -> client.v1().events().inNamespace("default").list().getItems().stream()
                .anyMatch(e -> e.getInvolvedObject().getName().equals("ext-" + id) && "Warning".equals(e.getType())
                        && "InvalidExternalEndpoint".equals(e.getReason()) && e.getMessage().contains(named[1])));

        // Removed: back to the node's own endpoint (Nodes are watched, so well before the periodic pass, once a minute: printed).
        long removed = System.nanoTime();
        externalEndpoint(edge, null);
        await().atMost(Liveness.BOUND).until(() -> List.of("198.18.9.98:51820", plain).equals(get("ext").getStatus().gatewayEndpoints));
        System.out.printf("external endpoint removed from the gateway node: the peer's gateway endpoints follow %d ms later%n",
                (System.nanoTime() - removed) / 1_000_000);
        assertThat(get("ext").getStatus().gatewayNode).isEqualTo(edge);
        // Fixed: the node serves again.
        externalEndpoint(bad, "vpn-gw.example.test");
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("onlybad"), false)));
        assertThat(get("onlybad").getStatus().gatewayEndpoints).containsExactly("vpn-gw.example.test:51820");
        assertThat(get("onlybad").getStatus().gatewayNode).isEqualTo(bad);
    }

    @Test
    void exhaustionAndMissingConfigurationSayWhatToChange() {
        String small = mesh("small", List.of("10.98.0.0/30")); // .1 and .2 usable
        String none = mesh("nopeers", null);
        peer("a", small);
        peer("b", small);
        await().atMost(Liveness.BOUND).until(() -> "True".equals(ready(get("a"), false)) && "True".equals(ready(get("b"), false)));
        peer("c", small);
        peer("d", none);
        peer("e", "no-such-mesh-" + id);
        await().atMost(Liveness.BOUND).until(() -> ready(get("c"), true) != null && ready(get("d"), true) != null && ready(get("e"), true) != null);
        assertThat(ready(get("c"), false)).isEqualTo("False");
        assertThat(ready(get("c"), true)).contains("no free address").contains("10.98.0.0/30");
        assertThat(ready(get("d"), true)).contains("has no spec.peerCIDRs");
        assertThat(ready(get("e"), true)).contains("does not exist");
    }
}
