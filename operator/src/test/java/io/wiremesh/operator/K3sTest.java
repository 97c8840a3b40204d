package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.mesh.MeshReconciler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/** The CRDs and the operator on a current Kubernetes (k3s through Testcontainers), where a Docker engine is reachable. */
class K3sTest {
    @BeforeEach
    void needsDocker() {
        boolean docker = DockerClientFactory.instance().isDockerAvailable();
        if (!docker) System.out.println("K3sTest skipped: no Docker engine is reachable (Testcontainers needs one to run k3s)");
        Assumptions.assumeTrue(docker, "no Docker engine is reachable (Testcontainers needs one to run k3s)");
    }

    @Test
    void crdsInstallAndTheOperatorAllocatesOnK3s() {
        try (K3sContainer k3s = new K3sContainer(DockerImageName.parse("rancher/k3s:v1.31.4-k3s1"))) {
            k3s.start();
            try (KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build()) {
                KubeApiServer.createCrds(client);
                Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
                operator.register(new MeshReconciler(Duration.ofSeconds(5), new SimpleMeterRegistry()));
                operator.start();
                try {
                    WireGuardMesh mesh = new WireGuardMesh();
                    mesh.setMetadata(new ObjectMetaBuilder().withName("k3s-mesh").build());
                    mesh.setSpec(new WireGuardMeshSpec());
                    mesh.getSpec().podCIDRs = List.of("10.90.0.0/16", "fd90::/48");
                    client.resource(mesh).create();
                    await().atMost(60, TimeUnit.SECONDS).until(() ->
                            client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, "k3s-mesh").list().getItems().size() == 1);
                    // Deleting the mesh garbage-collects its WireGuardNodes through their owner reference.
                    client.resources(WireGuardMesh.class).withName("k3s-mesh").delete();
                    await().atMost(60, TimeUnit.SECONDS).until(() ->
                            client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, "k3s-mesh").list().getItems().isEmpty());
                    assertThat(client.nodes().list().getItems()).isNotEmpty();
                } finally {
                    operator.stop();
                }
            }
        }
    }
}
