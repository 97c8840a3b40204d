package io.wiremesh.operator.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which nodes serve a peer and at which address, without a cluster (the operator test covers the API side). */
class GatewayChoiceTest {
    private final Map<String, Node> nodes = new HashMap<>();

    private WireGuardNode member(String node, String endpoint, String annotation, Map<String, String> labels) {
        nodes.put(node, new NodeBuilder().withNewMetadata().withName(node).withLabels(labels)
                .withAnnotations(annotation == null ? Map.of() : Map.of("wiremesh.io/external-endpoint", annotation)).endMetadata().build());
        WireGuardNode w = new WireGuardNode();
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
        w.setStatus(new WireGuardNodeStatus());
        w.getStatus().endpoints = endpoint == null ? null : List.of(endpoint);
        return w;
    }

    private GatewayChoice choose(List<WireGuardNode> members, Map<String, String> selector, WireGuardPeerStatus previous) {
        return GatewayChoice.of(members, nodes::get, selector, 51820, previous);
    }

    @Test
    void anAnnotationReplacesTheNodesEndpointAndNodesComeByName() {
        var members = List.of(member("c", "198.18.0.3:51820", null, Map.of()), member("a", "198.18.0.1:51820", "vpn.example.test:4500", Map.of()),
                member("b", "198.18.0.2:51820", "203.0.113.7", Map.of()), member("d", null, "vpn.example.test", Map.of()));
        GatewayChoice g = choose(members, null, null);
        assertThat(g.node()).isEqualTo("a");
        // d has published no endpoint yet: no candidate, whatever its annotation says
        assertThat(g.endpoints()).containsExactly("vpn.example.test:4500", "203.0.113.7:51820", "198.18.0.3:51820");
        assertThat(g.problems()).isEmpty();
    }

    @Test
    void theGatewayStaysWhileItIsACandidateAlsoForStatusesWithoutGatewayNode() {
        var members = List.of(member("a", "198.18.0.1:51820", null, Map.of()), member("b", "198.18.0.2:51820", "[2001:db8::2]:51820", Map.of()));
        WireGuardPeerStatus before = new WireGuardPeerStatus();
        before.gatewayNode = "b";
        GatewayChoice g = choose(members, null, before);
        assertThat(g.node()).isEqualTo("b");
        assertThat(g.endpoints()).containsExactly("[2001:db8::2]:51820", "198.18.0.1:51820");
        // Written by an older operator: the gateway was the node whose endpoint came first.
        WireGuardPeerStatus older = new WireGuardPeerStatus();
        older.gatewayEndpoints = List.of("198.18.0.2:51820", "198.18.0.1:51820");
        assertThat(choose(members, null, older).node()).isEqualTo("b");
        before.gatewayNode = "gone";
        assertThat(choose(members, null, before).node()).isEqualTo("a");
    }

    @Test
    void anInvalidAnnotationLeavesItsNodeOutAndSaysWhatToWrite() {
        var members = List.of(member("a", "198.18.0.1:51820", "vpn_gw.example.test:51820", Map.of("gw", "yes")),
                member("b", "198.18.0.2:51820", null, Map.of()));
        GatewayChoice g = choose(members, null, null);
        assertThat(g.node()).isEqualTo("b");
        assertThat(g.endpoints()).containsExactly("198.18.0.2:51820");
        assertThat(g.problems()).singleElement().asString().contains("node a", "wiremesh.io/external-endpoint=\"vpn_gw.example.test:51820\"",
                "label \"vpn_gw\"", "expected HOST[:PORT]", "[2001:db8::1]:51820");
        GatewayChoice selected = choose(members, Map.of("gw", "yes"), null);
        assertThat(selected.node()).isNull();
        assertThat(selected.endpoints()).isEmpty();
        assertThat(selected.problems()).hasSize(1);
    }
}
