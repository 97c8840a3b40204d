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
    static WireGuardNode member(String node, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m." + node).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
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
    void withoutGatewayNodeTheNodeThatPublishedTheFirstEndpoint() {
        assertThat(PeerGateway.find(status(null, "198.18.0.2:51820", "198.18.0.1:51820"), List.of(a, b))).isSameAs(b);
        assertThat(PeerGateway.find(status(null, "vpn.example.test:4500"), List.of(a, b))).isNull();
        assertThat(PeerGateway.find(status(null), List.of(a, b))).isNull();
        assertThat(PeerGateway.is(null, a)).isFalse();
        assertThat(PeerGateway.is(status("a"), null)).isFalse();
    }
}
