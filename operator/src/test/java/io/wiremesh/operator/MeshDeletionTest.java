package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.mesh.MeshReconciler;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Deleting a mesh removes its WireGuardNodes through owner references, and nothing else: proven with
 * the real garbage collector (kube-controller-manager 1.20.2 built from the same source, running only
 * the garbagecollector controller).
 */
class MeshDeletionTest {
    private static final Path KCM = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"),
            "k8s-1.20.2/bin/kube-controller-manager");

    private static WireGuardMesh mesh(String name, String cidr, String label) {
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(name).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of(cidr);
        m.getSpec().nodeSelector = Map.of("gc-test", label);
        return m;
    }

    @Test
    void deletingAMeshRemovesItsWireGuardNodesAndNothingElse() throws Exception {
        if (!Files.isExecutable(KCM)) throw new IllegalStateException(KCM + " is missing: run scripts/install-deps.sh");
        KubernetesClient client = KubeApiServer.client();
        Path kubeconfig = Files.createTempFile("wiremesh-gc", ".yaml");
        Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
        Path log = Files.createTempFile("wiremesh-kcm", ".log");
        Process kcm = new ProcessBuilder(KCM.toString(), "--kubeconfig=" + kubeconfig, "--controllers=garbagecollector",
                "--leader-elect=false", "--port=0", "--secure-port=0", "--use-service-account-credentials=false")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
        operator.register(new MeshReconciler(Duration.ofSeconds(3), new SimpleMeterRegistry()));
        operator.start();
        try {
            for (String n : List.of("gc-a", "gc-b")) {
                client.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName(n).withLabels(Map.of("gc-test", n)).build()).build()).create();
            }
            client.resource(mesh("gc-doomed", "10.85.0.0/16", "gc-a")).create();
            client.resource(mesh("gc-kept", "10.86.0.0/16", "gc-b")).create();
            await().atMost(Liveness.BOUND).until(() -> client.resources(WireGuardNode.class).withName("gc-doomed.gc-a").get() != null
                    && client.resources(WireGuardNode.class).withName("gc-kept.gc-b").get() != null);

            client.resources(WireGuardMesh.class).withName("gc-doomed").delete();
            await().atMost(60, TimeUnit.SECONDS).until(() -> client.resources(WireGuardNode.class).withName("gc-doomed.gc-a").get() == null);
            assertThat(client.resources(WireGuardNode.class).withName("gc-kept.gc-b").get()).isNotNull();
            assertThat(client.nodes().withName("gc-a").get()).as("the Node itself stays").isNotNull();
            assertThat(client.resources(WireGuardMesh.class).withName("gc-kept").get()).isNotNull();
        } finally {
            operator.stop();
            kcm.destroy();
            if (!kcm.waitFor(10, TimeUnit.SECONDS)) kcm.destroyForcibly();
            client.resources(WireGuardMesh.class).withName("gc-kept").delete();
            client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, "gc-kept").delete();
            client.nodes().withName("gc-a").delete();
            client.nodes().withName("gc-b").delete();
            Files.deleteIfExists(kubeconfig);
            Files.deleteIfExists(log);
        }
    }
}
