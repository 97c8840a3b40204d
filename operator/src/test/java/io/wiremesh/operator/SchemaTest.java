package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.wiremesh.testing.Liveness;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CRDs generated into crds/, as enforced by a real kube-apiserver 1.20.2: invalid documents are refused. */
class SchemaTest {
    private KubernetesClient client;

    @BeforeEach
    void setUp() {
        client = KubeApiServer.client();
    }

    @AfterEach
    void tearDown() {
        client.resources(io.wiremesh.api.v1alpha1.WireGuardMesh.class).withName("schema-ok").delete();
    }

    private static String mesh(String spec) {
        return """
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardMesh", "metadata": {"name": "schema-bad"},
                 "spec": %s}""".formatted(spec);
    }

    private void assertRefused(String json, String why) {
        assertThatThrownBy(() -> client.resource(json).create())
                .isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
                .hasMessageContaining(why);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{}|podCIDRs: Required value",
        "{\"podCIDRs\": []}|should have at least 1 items",
        "{\"podCIDRs\": [\"not-a-cidr\"]}|spec.podCIDRs",
        "{\"podCIDRs\": [\"10.0.0.0/33\"]}|spec.podCIDRs",
        "{\"podCIDRs\": [\"300.0.0.0/8\"]}|spec.podCIDRs",
        "{\"podCIDRs\": [\"10.0.0.0/8\", \"fd00::/8\", \"10.1.0.0/16\"]}|should have at most 2 items",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"listenPort\": 70000}|spec.listenPort",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"listenPort\": 0}|spec.listenPort",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"datapath\": \"fast\"}|spec.datapath",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"nodeBlockSize\": {\"ipv4\": 4}}|spec.nodeBlockSize.ipv4",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"mtu\": 500}|spec.mtu",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"persistentKeepalive\": -1}|spec.persistentKeepalive",
        "{\"podCIDRs\": [\"10.0.0.0/8\"], \"peerCIDRs\": [\"peers\"]}|spec.peerCIDRs",
    })
    void invalidMeshesAreRefused(String specAndReason) {
        String[] p = specAndReason.split("\\|");
        assertRefused(mesh(p[0]), p[1]);
    }

    @Test
    void invalidPeersAreRefused() {
        String peer = """
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardPeer", "metadata": {"name": "schema-bad"},
                 "spec": {"mesh": "m", "publicKey": "%s", "tunnel": "%s"}}""";
        assertRefused(peer.formatted("not-a-key", "split"), "spec.publicKey");
        assertRefused(peer.formatted("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "half"), "spec.tunnel");
        assertRefused("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardPeer", "metadata": {"name": "schema-bad"},
                 "spec": {"publicKey": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}}""", "spec.mesh");
    }

    @Test
    void invalidNodesAreRefused() {
        assertRefused("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardNode", "metadata": {"name": "schema-bad"},
                 "spec": {"mesh": "m", "nodeName": "n", "podCIDRs": ["10.0.0.0/24"]},
                 "status": {"publicKey": "short"}}""".replace("\"status\": {\"publicKey\": \"short\"}", "\"status\": {}")
                .replace("\"podCIDRs\": [\"10.0.0.0/24\"]", "\"podCIDRs\": [\"10.0.0.0\"]"), "spec.podCIDRs");
        assertRefused("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardNode", "metadata": {"name": "schema-bad"},
                 "spec": {"mesh": "m", "podCIDRs": ["10.0.0.0/24"]}}""", "spec.nodeName");
        assertRefused("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardMesh", "metadata": {"name": "schema-bad"},
                 "spec": {"podCIDRs": ["10.0.0.0/16"], "presharedKeys": {"interval": "1s1h"}}}""", "spec.presharedKeys.interval");
        assertRefused("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardMesh", "metadata": {"name": "schema-bad"},
                 "spec": {"podCIDRs": ["10.0.0.0/16"], "keyRotation": {"interval": "30d"}}}""", "spec.keyRotation.interval");
    }

    @Test
    void aValidMeshIsAcceptedWithDefaultsAndPrintsTheDocumentedColumns() throws Exception {
        client.resource("""
                {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardMesh", "metadata": {"name": "schema-ok"},
                 "spec": {"podCIDRs": ["10.99.0.0/16", "fd99::/48"], "nodeSelector": {"none": "none"}}}""").create();
        var got = client.resources(io.wiremesh.api.v1alpha1.WireGuardMesh.class).withName("schema-ok").get();
        assertThat(got.getSpec().listenPort).isEqualTo(51820);
        assertThat(got.getSpec().datapath).isEqualTo(io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath.AUTO);
        assertThat(columns("wireguardmeshes")).containsExactly("Name", "READY", "NODES", "UP-TO-DATE", "CIDRS", "AGE");
        assertThat(columns("wireguardnodes")).containsExactly("Name", "NODE", "BLOCK", "PUBLICKEY", "READY", "PROPOSAL", "PQ-PSK", "PSK-STALE", "OLDEST-PSK");
        // The preshared keys are on unless turned off, and rotate every 2 minutes by default.
        assertThat(got.getSpec().presharedKeysEnabled()).isTrue();
        assertThat(got.getSpec().presharedKeyInterval()).isEqualTo(java.time.Duration.ofMinutes(2));
    }

    /** Column names as kubectl get sees them (the server-side Table). */
    private java.util.List<String> columns(String plural) throws Exception {
        HttpClient http = client.getHttpClient();
        HttpRequest req = http.newHttpRequestBuilder()
                .uri(client.getMasterUrl().toString().replaceAll("/$", "") + "/apis/wiremesh.io/v1alpha1/" + plural)
                .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").build();
        String body = http.sendAsync(req, String.class).get(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS).body();
        var table = client.getKubernetesSerialization().unmarshal(body, java.util.Map.class);
        @SuppressWarnings("unchecked")
        java.util.List<java.util.Map<String, Object>> defs = (java.util.List<java.util.Map<String, Object>>) table.get("columnDefinitions");
        return defs.stream().map(d -> (String) d.get("name")).toList();
    }
}
