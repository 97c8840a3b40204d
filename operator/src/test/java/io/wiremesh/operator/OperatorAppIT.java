package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.testing.Liveness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/** The packaged Quarkus operator (QOSDK) against the real kube-apiserver: reconciles, health, readiness, metrics. */
@QuarkusTest
@QuarkusTestResource(KubeApiResource.class)
class OperatorAppIT {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(String path) throws Exception {
        int port = ConfigProvider.getConfig().getOptionalValue("quarkus.http.test-port", Integer.class).orElse(8081);
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void reconcilesAndReportsHealthAndMetrics() throws Exception {
        KubernetesClient client = KubeApiServer.client();
        client.resource(new NodeBuilder().withMetadata(new ObjectMetaBuilder().withName("app-node-1").withLabels(Map.of("app-it", "yes")).build()).build()).create();
        WireGuardMesh mesh = new WireGuardMesh();
        mesh.setMetadata(new ObjectMetaBuilder().withName("app-mesh").build());
        mesh.setSpec(new WireGuardMeshSpec());
        mesh.getSpec().podCIDRs = List.of("10.80.0.0/16");
        mesh.getSpec().nodeSelector = Map.of("app-it", "yes");
        client.resource(mesh).create();

        await().atMost(60, TimeUnit.SECONDS).until(() ->
                client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor("app-mesh", "app-node-1")).get() != null);
        await().atMost(Liveness.BOUND).until(() -> {
            WireGuardMesh m = client.resources(WireGuardMesh.class).withName("app-mesh").get();
            return m.getStatus() != null && m.getStatus().conditions.stream().anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
        });

        HttpResponse<String> live = get("/q/health/live");
        assertThat(live.statusCode()).isEqualTo(200);
        HttpResponse<String> ready = get("/q/health/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"status\": \"UP\"");
        String metrics = get("/q/metrics").body();
        assertThat(metrics).contains("wiremesh_operator_reconciles_total").contains("wiremesh_operator_blocks_allocated_total");
        assertThat(metrics.lines().filter(l -> l.startsWith("wiremesh_operator_blocks_allocated_total")).findFirst().orElseThrow())
                .doesNotEndWith(" 0.0");
    }
}
