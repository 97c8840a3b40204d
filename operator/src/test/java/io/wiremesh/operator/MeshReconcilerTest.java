package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.mesh.MeshReconciler;
import io.wiremesh.testing.Liveness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The mesh reconciler against a real kube-apiserver: allocation, release, restart, conflicts, exhaustion. */
class MeshReconcilerTest {
    static final Duration GRACE = Duration.ofSeconds(3);
    private KubernetesClient client;
    private Operator operator;
    private String id;
    private final List<String> meshes = new ArrayList<>();
    private final List<String> nodes = new ArrayList<>();

    @BeforeEach
    void setUp() {
        client = KubeApiServer.client();
        id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
        operator = startOperator();
    }

    private Operator startOperator() {
        Operator op = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
        op.register(new MeshReconciler(GRACE, new SimpleMeterRegistry()));
        op.start();
        return op;
    }

    @AfterEach
    void tearDown() {
        if (operator != null) operator.stop();
        for (String m : meshes) {
            client.resources(WireGuardMesh.class).withName(m).delete();
            // This API server runs no garbage collector: remove what owner references would.
            client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, m).delete();
        }
        for (String n : nodes) client.nodes().withName(n).delete();
    }

    private String node(String name) {
        String full = "n-" + id + "-" + name;
        client.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(full)
                .withLabels(Map.of("wiremesh-test", id)).build()).build()).create();
        nodes.add(full);
        return full;
    }

    private WireGuardMesh mesh(String name, List<String> podCIDRs, Integer v4Block) {
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(name + "-" + id).build());
        WireGuardMeshSpec spec = new WireGuardMeshSpec();
        spec.podCIDRs = podCIDRs;
        spec.nodeSelector = Map.of("wiremesh-test", id);
        if (v4Block != null) {
            spec.nodeBlockSize = new WireGuardMeshSpec.NodeBlockSize();
            spec.nodeBlockSize.ipv4 = v4Block;
        }
        m.setSpec(spec);
        meshes.add(m.getMetadata().getName());
        return client.resource(m).create();
    }

    private List<WireGuardNode> members(String mesh) {
        return client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, mesh).list().getItems();
    }

    private Map<String, List<String>> blocks(String mesh) {
        Map<String, List<String>> out = new TreeMap<>();
        for (WireGuardNode m : members(mesh)) out.put(m.getSpec().nodeName, m.getSpec().podCIDRs);
        return out;
    }

    private WireGuardMesh get(String mesh) {
        return client.resources(WireGuardMesh.class).withName(mesh).get();
    }

    private static String condition(WireGuardMesh m, String type, boolean message) {
        if (m == null || m.getStatus() == null || m.getStatus().conditions == null) return null;
        return m.getStatus().conditions.stream().filter(c -> c.getType().equals(type))
                .map(c -> message ? c.getMessage() : c.getStatus()).findFirst().orElse(null);
    }

    @Test
    void everySelectedNodeGetsADistinctBlockAndTheMeshBecomesReady() {
        List<String> ns = List.of(node("a"), node("b"), node("c"));
        node("x"); // not labelled for... (it is: every test node carries the label)
        client.nodes().withName(nodes.get(3)).edit(n -> { n.getMetadata().getLabels().clear(); return n; });
        String mesh = mesh("three", List.of("10.42.0.0/16", "fd42::/48"), null).getMetadata().getName();

        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 3
                && "True".equals(condition(get(mesh), "Ready", false)));
        List<WireGuardNode> ms = members(mesh);
        assertThat(ms).extracting(m -> m.getSpec().nodeName).containsExactlyInAnyOrderElementsOf(ns);
        List<Cidr> all = new ArrayList<>();
        for (WireGuardNode m : ms) {
            assertThat(m.getMetadata().getName()).isEqualTo(WireGuardNode.nameFor(mesh, m.getSpec().nodeName));
            assertThat(m.getSpec().podCIDRs).hasSize(2);
            assertThat(m.getSpec().overlayAddresses).hasSize(2);
            assertThat(m.getSpec().keyGeneration).isEqualTo(1L);
            assertThat(m.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
                assertThat(o.getKind()).isEqualTo("WireGuardMesh");
                assertThat(o.getName()).isEqualTo(mesh);
                assertThat(o.getController()).isTrue();
            });
            Cidr v4 = Cidr.parse(m.getSpec().podCIDRs.get(0));
            assertThat(v4.bits()).isEqualTo(24);
            assertThat(Cidr.parse("10.42.0.0/16").contains(v4)).isTrue();
            assertThat(Cidr.parse(m.getSpec().podCIDRs.get(1)).bits()).isEqualTo(112);
            assertThat(m.getSpec().overlayAddresses.get(0)).isEqualTo(v4.address(1));
            all.addAll(m.getSpec().podCIDRs.stream().map(Cidr::parse).toList());
        }
        for (int i = 0; i < all.size(); i++)
            for (int j = i + 1; j < all.size(); j++) assertThat(all.get(i).overlaps(all.get(j))).isFalse();
        WireGuardMesh got = get(mesh);
        assertThat(got.getStatus().nodes).isEqualTo(3);
        assertThat(got.getStatus().allocatedBlocks).isEqualTo(3);
        assertThat(got.getStatus().freeBlocks).isEqualTo(253);
        assertThat(got.getStatus().observedGeneration).isEqualTo(got.getMetadata().getGeneration());
        assertThat(got.getStatus().upToDateNodes).as("no node-daemon has applied the spec yet").isZero();

        // Two node-daemons report the mesh's generation as applied, the third an older one: UP-TO-DATE 2.
        long generation = got.getMetadata().getGeneration();
        for (int i = 0; i < 3; i++) {
            long observed = i < 2 ? generation : generation - 1;
            client.resources(WireGuardNode.class).withName(ms.get(i).getMetadata().getName()).editStatus(w -> {
                w.setStatus(new io.wiremesh.api.v1alpha1.WireGuardNodeStatus());
                w.getStatus().observedMeshGeneration = observed;
                return w;
            });
        }
        await().atMost(Liveness.BOUND).until(() -> Integer.valueOf(2).equals(get(mesh).getStatus().upToDateNodes));
    }

    @Test
    void withKeyRotationTheNodeWithTheOldestKeyIsAskedForANewOneAloneAndTheNextWhenItAnswered() {
        node("a");
        node("b");
        String mesh = mesh("rot", List.of("10.46.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 2);
        // The node-daemons publish their keys (generation 1), a's older than b's, both older than the interval.
        for (WireGuardNode m : members(mesh)) {
            String made = m.getSpec().nodeName.endsWith("-a") ? "2026-01-01T00:00:00Z" : "2026-02-01T00:00:00Z";
            publishKey(m.getMetadata().getName(), 1, made);
        }
        String a = WireGuardNode.nameFor(mesh, nodes.get(0)), b = WireGuardNode.nameFor(mesh, nodes.get(1));
        // The operator writes the mesh's status meanwhile: an edit may meet a newer version and is retried.
        await().atMost(Liveness.BOUND).ignoreExceptions().until(() -> client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().keyRotation = new WireGuardMeshSpec.KeyRotation();
            m.getSpec().keyRotation.interval = "720h";
            return m;
        }) != null);
        await().atMost(Liveness.BOUND).until(() -> client.resources(WireGuardNode.class).withName(a).get().getSpec().keyGeneration == 2L);
        WireGuardNode asked = client.resources(WireGuardNode.class).withName(a).get();
        assertThat(asked.getMetadata().getAnnotations()).containsKey(io.wiremesh.operator.mesh.KeyRotationSchedule.REQUESTED);
        assertThat(client.resources(WireGuardNode.class).withName(b).get().getSpec().keyGeneration).as("one at a time").isEqualTo(1L);
        // a's daemon answers with a new key: b is next.
        publishKey(a, 2, java.time.Instant.now().toString());
        await().atMost(Liveness.BOUND).until(() -> client.resources(WireGuardNode.class).withName(b).get().getSpec().keyGeneration == 2L);
        assertThat(client.resources(WireGuardNode.class).withName(a).get().getSpec().keyGeneration).as("a's new key is young").isEqualTo(2L);
    }

    private void publishKey(String member, long generation, String created) {
        await().atMost(Liveness.BOUND).ignoreExceptions().until(() -> client.resources(WireGuardNode.class).withName(member).editStatus(w -> {
            if (w.getStatus() == null) w.setStatus(new io.wiremesh.api.v1alpha1.WireGuardNodeStatus());
            w.getStatus().publicKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
            w.getStatus().keyGeneration = generation;
            w.getStatus().keyCreationTime = created;
            w.getStatus().conditions = new ArrayList<>(List.of(new io.fabric8.kubernetes.api.model.ConditionBuilder().withType("Ready")
                    .withStatus("True").withReason("Configured").withMessage("test").withLastTransitionTime("2026-01-01T00:00:00Z").build()));
            return w;
        }) != null);
    }

    @Test
    void everyMemberCarriesItsNodesAddressesAndFollowsTheirChanges() {
        String a = node("a");
        // As the kubelet reports them (status subresource): InternalIPs count; ExternalIP (often a NAT address) and Hostname do not.
        setAddresses(a, List.of("InternalIP", "198.18.3.11", "InternalIP", "fd18::11", "Hostname", a, "ExternalIP", "198.18.4.11"));
        String m = mesh("addr", List.of("10.62.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(m).size() == 1
                && List.of("198.18.3.11", "fd18::11").equals(members(m).get(0).getSpec().nodeAddresses));
        String block = members(m).get(0).getSpec().podCIDRs.get(0);
        // A node whose address changes (DHCP, a re-IPed VM) keeps its block, and the member follows.
        setAddresses(a, List.of("InternalIP", "198.18.3.99"));
        await().atMost(Liveness.BOUND).until(() -> List.of("198.18.3.99").equals(members(m).get(0).getSpec().nodeAddresses));
        assertThat(members(m).get(0).getSpec().podCIDRs.get(0)).isEqualTo(block);
        // Two nodes reporting one address (a copied VM image): neither gets it; an address in the pod pool: never.
        String b = node("b");
        setAddresses(b, List.of("InternalIP", "198.18.3.99", "InternalIP", "10.62.200.1", "InternalIP", "198.18.3.12"));
        await().atMost(Liveness.BOUND).until(() -> {
            Map<String, List<String>> got = new TreeMap<>();
            for (WireGuardNode w : members(m)) got.put(w.getSpec().nodeName, w.getSpec().nodeAddresses == null ? List.of() : w.getSpec().nodeAddresses);
            return got.equals(Map.of(a, List.of(), b, List.of("198.18.3.12")));
        });
    }

    private void setAddresses(String node, List<String> typeAndAddress) {
        client.nodes().withName(node).editStatus(n -> {
            List<io.fabric8.kubernetes.api.model.NodeAddress> list = new ArrayList<>();
            for (int i = 0; i < typeAndAddress.size(); i += 2) {
                list.add(new io.fabric8.kubernetes.api.model.NodeAddress(typeAndAddress.get(i + 1), typeAndAddress.get(i)));
            }
            if (n.getStatus() == null) n.setStatus(new io.fabric8.kubernetes.api.model.NodeStatus());
            n.getStatus().setAddresses(list);
            return n;
        });
    }

    @Test
    void deletedNodeReleasesItsBlockAfterTheGracePeriodAndAFlappingNodeKeepsIt() {
        String a = node("a"), b = node("b"), c = node("c");
        String mesh = mesh("grace", List.of("10.43.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 3);
        Map<String, List<String>> before = blocks(mesh);

        // Flapping: gone and back within the grace period keeps the same block.
        client.nodes().withName(c).delete();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).stream().anyMatch(m ->
                m.getMetadata().getAnnotations() != null && m.getMetadata().getAnnotations().containsKey(WireGuardNode.ORPHANED_SINCE)));
        client.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(c).withLabels(Map.of("wiremesh-test", id)).build()).build()).create();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).stream().noneMatch(m ->
                m.getMetadata().getAnnotations() != null && m.getMetadata().getAnnotations().containsKey(WireGuardNode.ORPHANED_SINCE)));
        assertThat(blocks(mesh)).isEqualTo(before);

        // Gone for good: released after the grace period, not before.
        long t0 = System.nanoTime();
        client.nodes().withName(b).delete();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 2);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(GRACE.minusMillis(500));
        assertThat(blocks(mesh)).containsOnlyKeys(a, c);
        assertThat(blocks(mesh).get(a)).isEqualTo(before.get(a));
        // The released block is the lowest free one and goes to the next node.
        String d = node("d");
        await().atMost(Liveness.BOUND).until(() -> blocks(mesh).containsKey(d));
        assertThat(blocks(mesh).get(d)).isEqualTo(before.get(b));
    }

    @Test
    void unselectedNodeIsReleasedToo() {
        node("a");
        String b = node("b");
        String mesh = mesh("unsel", List.of("10.44.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 2);
        client.nodes().withName(b).edit(n -> { n.getMetadata().getLabels().put("wiremesh-test", "other"); return n; });
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 1);
        await().atMost(Liveness.BOUND).until(() -> get(mesh).getStatus() != null && get(mesh).getStatus().nodes == 1);
    }

    @Test
    void anOperatorRestartMovesNothing() {
        for (int i = 0; i < 5; i++) node("r" + i);
        String mesh = mesh("restart", List.of("10.45.0.0/16", "fd45::/48"), 26).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 5);
        Map<String, List<String>> before = blocks(mesh);
        List<String> uids = members(mesh).stream().map(m -> m.getMetadata().getUid()).sorted().toList();

        operator.stop();
        operator = startOperator(); // new reconciler, empty memory, full re-list
        String late = node("late");
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 6);
        Map<String, List<String>> after = blocks(mesh);
        for (var e : before.entrySet()) assertThat(after.get(e.getKey())).isEqualTo(e.getValue());
        assertThat(new HashSet<>(before.values())).doesNotContain(after.get(late));
        assertThat(members(mesh).stream().filter(m -> !m.getSpec().nodeName.equals(late)).map(m -> m.getMetadata().getUid()).sorted().toList())
                .isEqualTo(uids);
    }

    @Test
    void aMeshOverlappingAnOlderOneIsDegradedWithAClearMessageAndAnEvent() throws Exception {
        node("a");
        String first = mesh("first", List.of("10.50.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> "True".equals(condition(get(first), "Ready", false)));
        Thread.sleep(1100); // creation timestamps have one-second resolution
        String second = mesh("second", List.of("10.50.128.0/17"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> "True".equals(condition(get(second), "Degraded", false)));
        String msg = condition(get(second), "Degraded", true);
        assertThat(msg).contains("10.50.128.0/17 overlaps 10.50.0.0/16").contains(first).contains("choose a range");
        assertThat(condition(get(second), "Ready", false)).isEqualTo("False");
        assertThat(members(second)).isEmpty();
        assertThat(members(first)).hasSize(1);
        assertThat(condition(get(first), "Ready", false)).isEqualTo("True");
        await().atMost(Liveness.BOUND).until(() -> client.v1().events().inNamespace("default").list().getItems().stream()
                .anyMatch(e -> second.equals(e.getInvolvedObject().getName()) && "OverlappingMeshes".equals(e.getReason())
                        && e.getMessage().contains("10.50.0.0/16")));
    }

    @Test
    void anExhaustedPoolIsDegradedAndExistingNodesAreUntouched() {
        node("a");
        node("b");
        String mesh = mesh("small", List.of("10.60.0.0/23"), 24).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 2);
        Map<String, List<String>> before = blocks(mesh);
        String c = node("c");
        await().atMost(Liveness.BOUND).until(() -> "True".equals(condition(get(mesh), "Degraded", false)));
        assertThat(condition(get(mesh), "Degraded", true))
                .contains("pool exhausted").contains("10.60.0.0/23").contains(c).contains("spec.podCIDRs");
        assertThat(blocks(mesh)).isEqualTo(before);
        assertThat(get(mesh).getStatus().freeBlocks).isZero();
    }

    @Test
    void shrinkingThePoolUnderAllocatedBlocksIsRefusedAndMovesNothing() {
        String a = node("a");
        String mesh = mesh("shrink", List.of("10.61.0.0/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> members(mesh).size() == 1);
        Map<String, List<String>> before = blocks(mesh);
        client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().podCIDRs = List.of("10.62.0.0/16");
            return m;
        });
        await().atMost(Liveness.BOUND).until(() -> "True".equals(condition(get(mesh), "Degraded", false))
                && condition(get(mesh), "Degraded", true).contains("no longer holds"));
        assertThat(condition(get(mesh), "Degraded", true)).contains(a + " (10.61.0.0/24)").contains("put the range back");
        assertThat(blocks(mesh)).as("no block moved").isEqualTo(before);
        // Put back: accepted again.
        client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().podCIDRs = List.of("10.61.0.0/16");
            return m;
        });
        await().atMost(Liveness.BOUND).until(() -> "False".equals(condition(get(mesh), "Degraded", false)));
    }

    @Test
    void aSpecTheSchemaCannotCatchIsDegradedWithTheFix() {
        node("a");
        String mesh = mesh("hostbits", List.of("10.70.0.5/16"), null).getMetadata().getName();
        await().atMost(Liveness.BOUND).until(() -> "True".equals(condition(get(mesh), "Degraded", false)));
        assertThat(condition(get(mesh), "Degraded", true)).contains("host bits").contains("use 10.70.0.0/16");
        assertThat(members(mesh)).isEmpty();
    }
}
