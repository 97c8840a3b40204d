package io.wiremesh.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two packaged operators started at once against one API server while 200 nodes and 30 external peers arrive (a
 * rollout's overlap, or {@code operator.replicas: 2}): one holds the Lease and does all the reconciling, no block or
 * address is handed out twice, and when the holder goes the other takes over and allocates on.
 */
class TwoOperatorsIT {
    private static final Path APP = Path.of(System.getProperty("wiremesh.root", "..")).resolve("operator/target/quarkus-app/quarkus-run.jar");
    private static final String NS = "wmt-lease", MESH = "lease-mesh", LABEL = "lease-it";
    private static final int NODES = 200, PEERS = 30;

    private final KubernetesClient client = KubeApiServer.client();
    private final List<Process> operators = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private Path dir;

    private record Operator(String identity, int port, Process process) {}

    private Operator start(String identity, Path kubeconfig) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-jar", APP.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve(identity + ".log").toFile());
        pb.environment().putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "QUARKUS_HTTP_PORT", String.valueOf(port),
                "WIREMESH_OPERATOR_LEASE_NAMESPACE", NS, "WIREMESH_OPERATOR_IDENTITY", identity, "WIREMESH_OPERATOR_NODE_GRACE_PERIOD", "5s"));
        Process p = pb.start();
        operators.add(p);
        return new Operator(identity, port, p);
    }

    /** The operator's count of reconciles (all controllers), from its own /q/metrics; 0 when it has none. */
    private double reconciles(Operator o) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + o.port() + "/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return body.lines().filter(l -> l.startsWith("wiremesh_operator_reconciles_total")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private int status(Operator o, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + o.port() + path)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (Process p : operators) p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        client.resources(WireGuardPeer.class).withLabel(LABEL).delete();
        client.resources(WireGuardMesh.class).withName(MESH).delete();
        client.nodes().withLabel(LABEL).delete();
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void oneOperatorAllocatesAndTheOtherTakesOverWhenItGoes() throws Exception {
        assertThat(APP).as("the packaged operator (mvn package)").exists();
        dir = Files.createTempDirectory("wmt-operators");
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).createOr(x -> x.update());
        Operator a = start("op-a", kubeconfig), b = start("op-b", kubeconfig);

        WireGuardMesh mesh = new WireGuardMesh();
        mesh.setMetadata(new ObjectMetaBuilder().withName(MESH).build());
        mesh.setSpec(new WireGuardMeshSpec());
        mesh.getSpec().podCIDRs = List.of("10.90.0.0/16");
        mesh.getSpec().peerCIDRs = List.of("10.91.0.0/24");
        mesh.getSpec().nodeSelector = Map.of(LABEL, "yes");
        client.resource(mesh).create();
        for (int i = 0; i < NODES; i++) node("lease-node-" + i);
        for (int i = 0; i < PEERS; i++) {
            WireGuardPeer p = new WireGuardPeer();
            p.setMetadata(new ObjectMetaBuilder().withName("lease-peer-" + i).withLabels(Map.of(LABEL, "yes")).build());
            p.setSpec(new WireGuardPeerSpec());
            p.getSpec().mesh = MESH;
            p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
            client.resource(p).create();
        }

        await().atMost(Liveness.BOUND.multipliedBy(2)).pollInterval(Duration.ofSeconds(1)).until(() -> blocks().size() == NODES && addresses().size() == PEERS);
        assertThat(new HashSet<>(blocks())).as("blocks handed out once each").hasSize(NODES);
        assertThat(new HashSet<>(addresses())).as("peer addresses handed out once each").hasSize(PEERS);

        String holder = client.resources(Lease.class).inNamespace(NS).withName("wiremesh-operator").get().getSpec().getHolderIdentity();
        assertThat(holder).isIn("op-a", "op-b");
        Operator leader = holder.equals("op-a") ? a : b, follower = leader == a ? b : a;
        System.out.printf("leader %s: %.0f reconciles; follower %s: %.0f; ready %d / %d%n", leader.identity(), reconciles(leader),
                follower.identity(), reconciles(follower), status(leader, "/q/health/ready"), status(follower, "/q/health/ready"));
        assertThat(reconciles(leader)).as("the Lease holder reconciles").isPositive();
        assertThat(reconciles(follower)).as("the other writes nothing").isZero();

        // The holder goes (no time to hand the Lease back): the other takes over within the lease duration and allocates on.
        leader.process().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        node("lease-node-late");
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofSeconds(1)).until(() -> blocks().size() == NODES + 1);
        assertThat(new HashSet<>(blocks())).as("the late node's block is new").hasSize(NODES + 1);
        assertThat(client.resources(Lease.class).inNamespace(NS).withName("wiremesh-operator").get().getSpec().getHolderIdentity())
                .isEqualTo(follower.identity());
        assertThat(reconciles(follower)).isPositive();
    }

    private void node(String name) {
        client.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of(LABEL, "yes")).build()).build())
                .createOr(x -> x.update());
    }

    /** Every block held by the mesh's WireGuardNodes. */
    private List<String> blocks() {
        return client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, MESH).list().getItems().stream()
                .filter(w -> w.getSpec() != null && w.getSpec().podCIDRs != null).flatMap(w -> w.getSpec().podCIDRs.stream()).toList();
    }

    /** Every address held by the test's WireGuardPeers. */
    private List<String> addresses() {
        return client.resources(WireGuardPeer.class).withLabel(LABEL).list().getItems().stream()
                .filter(p -> p.getStatus() != null && p.getStatus().addresses != null).flatMap(p -> p.getStatus().addresses.stream())
                .filter(Objects::nonNull).toList();
    }
}
