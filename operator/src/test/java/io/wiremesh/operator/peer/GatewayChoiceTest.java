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

    /**
     * A member whose key and endpoint ({@code endpoint} null: none yet) the operator accepted into its spec,
     * its status proposing the same.
     */
    private WireGuardNode member(String node, String endpoint, String annotation, Map<String, String> labels) {
        nodes.put(node, new NodeBuilder().withNewMetadata().withName(node).withLabels(labels)
                .withAnnotations(annotation == null ? Map.of() : Map.of("wiremesh.io/external-endpoint", annotation)).endMetadata().build());
        WireGuardNode w = new WireGuardNode();
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
        w.setStatus(new WireGuardNodeStatus());
        if (endpoint != null) {
            w.getSpec().publicKey = "KEY-" + node;
            w.getSpec().endpoints = List.of(endpoint);
            w.getStatus().publicKey = w.getSpec().publicKey;
            w.getStatus().endpoints = List.of(endpoint);
        }
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
        // d has no accepted endpoint yet: no candidate, whatever its annotation says
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
    void onlyAcceptedKeysAndEndpointsMakeACandidateNotTheNodesOwnProposal() {
        // a: key and endpoint only proposed in its status (not accepted); b: an accepted endpoint but no accepted key;
        // c: accepted, but proposing another endpoint in its status.
        WireGuardNode a = member("a", null, null, Map.of());
        a.getStatus().publicKey = "KEY-a";
        a.getStatus().endpoints = List.of("198.18.0.1:51820");
        WireGuardNode b = member("b", "198.18.0.2:51820", null, Map.of());
        b.getSpec().publicKey = null;
        WireGuardNode c = member("c", "198.18.0.3:51820", null, Map.of());
        c.getStatus().endpoints = List.of("203.0.113.3:51820");
        GatewayChoice g = choose(List.of(a, b, c), null, null);
        assertThat(g.node()).isEqualTo("c");
        assertThat(g.endpoints()).containsExactly("198.18.0.3:51820");
        assertThat(g.problems()).isEmpty();
        // A previous gateway whose key and endpoint are no longer accepted does not stay.
        WireGuardPeerStatus before = new WireGuardPeerStatus();
        before.gatewayNode = "a";
        assertThat(choose(List.of(a, b, c), null, before).node()).isEqualTo("c");
        // Nothing accepted at all: no gateway.
        GatewayChoice none = choose(List.of(a, b), null, null);
        assertThat(none.node()).isNull();
        assertThat(none.endpoints()).isEmpty();
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

    @Test
    void theDevicesLatestHandshakeComesFromItsGatewaysOwnStatusAndNeverGoesBack() {
        WireGuardNode a = member("a", "198.18.0.1:51820", null, Map.of()), b = member("b", "198.18.0.2:51820", null, Map.of());
        WireGuardNodeStatus.DeviceSummary seenByA = new WireGuardNodeStatus.DeviceSummary();
        seenByA.name = "laptop";
        seenByA.lastHandshakeTime = "2026-12-01T10:00:00Z";
        a.getStatus().devices = List.of(seenByA);
        WireGuardNodeStatus.DeviceSummary claimedByB = new WireGuardNodeStatus.DeviceSummary();
        claimedByB.name = "laptop";
        claimedByB.lastHandshakeTime = "2026-12-01T11:00:00Z";
        b.getStatus().devices = List.of(claimedByB);
        List<WireGuardNode> members = List.of(a, b);
        assertThat(GatewayChoice.lastHandshake(members, "a", "laptop", null)).as("only the gateway's report counts").isEqualTo("2026-12-01T10:00:00Z");
        assertThat(GatewayChoice.lastHandshake(members, "a", "laptop", "2026-12-01T10:30:00Z")).as("never earlier").isEqualTo("2026-12-01T10:30:00Z");
        assertThat(GatewayChoice.lastHandshake(members, "a", "phone", "2026-12-01T09:00:00Z")).isEqualTo("2026-12-01T09:00:00Z");
        assertThat(GatewayChoice.lastHandshake(members, null, "laptop", null)).isNull();
        seenByA.lastHandshakeTime = "yesterday";
        assertThat(GatewayChoice.lastHandshake(members, "a", "laptop", "2026-12-01T09:00:00Z")).as("malformed: kept").isEqualTo("2026-12-01T09:00:00Z");
    }
}
