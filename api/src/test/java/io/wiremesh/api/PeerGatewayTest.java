package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.v1alpha1.PeerGateway;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gateway a WireGuardPeer status names: by node name, or by endpoint for statuses without gatewayNode. */
class PeerGatewayTest {
    /** A member whose endpoint the operator accepted into its spec; its status proposes the same. */
    static WireGuardNode member(String node, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m." + node).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
        w.getSpec().endpoints = List.of(endpoint);
        w.setStatus(new WireGuardNodeStatus());
        w.getStatus().endpoints = List.of(endpoint);
        return w;
    }

    static WireGuardPeerStatus status(String gatewayNode, String... endpoints) {
        WireGuardPeerStatus s = new WireGuardPeerStatus();
        s.gatewayNode = gatewayNode;
        s.gatewayEndpoints = List.of(endpoints);
        return s;
    }

    private final WireGuardNode a = member("a", "198.18.0.1:51820"), b = member("b", "198.18.0.2:51820");

    @Test
    void theNodeNamedByGatewayNodeEvenWhenTheEndpointIsAnOverride() {
        WireGuardPeerStatus s = status("b", "vpn.example.test:4500", "198.18.0.1:51820");
        assertThat(PeerGateway.find(s, List.of(a, b))).isSameAs(b);
        assertThat(PeerGateway.is(s, a)).isFalse(); // a's endpoint is listed, but a is not the gateway
        assertThat(PeerGateway.find(status("c", "198.18.0.1:51820"), List.of(a, b))).isNull();
    }

    @Test
    void withoutGatewayNodeOnlyAnAcceptedEndpointNamesTheGatewayNotAProposedOne() {
        // c proposes 198.18.0.1:51820 (a's endpoint) in its status; the operator has not accepted it.
        WireGuardNode c = member("c", "198.18.0.3:51820");
        c.getStatus().endpoints = List.of("198.18.0.1:51820");
        assertThat(PeerGateway.is(status(null, "198.18.0.1:51820"), c)).isFalse();
        assertThat(PeerGateway.find(status(null, "198.18.0.1:51820"), List.of(c, a))).isSameAs(a);
        // d has proposed an endpoint but has none accepted yet: no gateway by endpoint.
        WireGuardNode d = member("d", "198.18.0.4:51820");
        d.getSpec().endpoints = null;
        assertThat(PeerGateway.is(status(null, "198.18.0.4:51820"), d)).isFalse();
        assertThat(PeerGateway.find(status(null, "198.18.0.4:51820"), List.of(a, b, d))).isNull();
        assertThat(PeerGateway.is(status("d", "198.18.0.4:51820"), d)).as("gatewayNode names it whatever its endpoints").isTrue();
    }

    @Test
    void withoutGatewayNodeTheNodeWithTheFirstEndpointAccepted() {
        assertThat(PeerGateway.find(status(null, "198.18.0.2:51820", "198.18.0.1:51820"), List.of(a, b))).isSameAs(b);
        assertThat(PeerGateway.find(status(null, "vpn.example.test:4500"), List.of(a, b))).isNull();
        assertThat(PeerGateway.find(status(null), List.of(a, b))).isNull();
        assertThat(PeerGateway.is(null, a)).isFalse();
        assertThat(PeerGateway.is(status("a"), null)).isFalse();
    }
}
