package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The gateway decision on a node: by the status's gatewayNode, by endpoint for older statuses, else via the gateway. */
class ExternalPeerRoutesTest {
    /** A member whose key and endpoint the operator accepted (spec), its status proposing the same. */
    private static WireGuardNode member(String node, String key, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
        w.getSpec().publicKey = key;
        w.getSpec().endpoints = List.of(endpoint);
        w.setStatus(new WireGuardNodeStatus());
        w.getStatus().publicKey = key;
        w.getStatus().endpoints = List.of(endpoint);
        return w;
    }

    /** A WireGuardPeer of {@code mesh} with one address, as the operator leaves it allocated (also used by PeerPlanTest). */
    static WireGuardPeer peer(String mesh, String key, String address, String gatewayNode, String... gatewayEndpoints) {
        WireGuardPeer p = new WireGuardPeer();
        p.setSpec(new WireGuardPeerSpec());
        p.getSpec().mesh = mesh;
        p.getSpec().publicKey = key;
        p.setStatus(new WireGuardPeerStatus());
        p.getStatus().addresses = List.of(address);
        p.getStatus().gatewayNode = gatewayNode;
        p.getStatus().gatewayEndpoints = List.of(gatewayEndpoints);
        return p;
    }

    private final WireGuardNode me = member("n1", "KEY1", "198.18.0.1:51820");
    private final WireGuardNode n2 = member("n2", "KEY2", "198.18.0.2:51820");

    @Test
    void theNodeNamedByGatewayNodeServesTheDeviceWhateverItDials() {
        // The device dials a port-forward in front of n1; n2 is the other candidate.
        var routes = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", "n1",
                "vpn.example.test:4500", "198.18.0.2:51820")));
        assertThat(routes.served()).isEqualTo(Map.of("PHONE", List.of("10.99.0.1/32")));
        assertThat(routes.viaNode()).isEmpty();
    }

    @Test
    void aStatusWithoutGatewayNodeNamesTheGatewayByItsEndpoint() {
        var routes = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", null, "198.18.0.1:51820")));
        assertThat(routes.served()).containsOnlyKeys("PHONE");
        var elsewhere = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", null, "198.18.0.2:51820")));
        assertThat(elsewhere.served()).isEmpty();
        assertThat(elsewhere.viaNode()).isEqualTo(Map.of("KEY2", List.of("10.99.0.1/32")));
    }

    @Test
    void aStatusWithoutGatewayNodeIsMatchedAgainstTheAcceptedEndpointsAndKeysNotTheProposedOnes() {
        // Both nodes propose other endpoints and n2 another key in their statuses; the operator accepted none of it.
        me.getStatus().endpoints = List.of("198.18.0.11:51820");
        n2.getStatus().endpoints = List.of("198.18.0.12:51820");
        n2.getStatus().publicKey = "KEY2-PROPOSED";
        var byProposal = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", null, "198.18.0.11:51820"),
                peer("m", "LAPTOP", "10.99.0.2/32", null, "198.18.0.12:51820")));
        assertThat(byProposal.served()).as("a proposed endpoint does not make this node the gateway").isEmpty();
        assertThat(byProposal.viaNode()).as("nor another node").isEmpty();
        var byAccepted = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", null, "198.18.0.1:51820"),
                peer("m", "LAPTOP", "10.99.0.2/32", null, "198.18.0.2:51820")));
        assertThat(byAccepted.served()).containsOnlyKeys("PHONE");
        assertThat(byAccepted.viaNode()).as("routed to the accepted key").isEqualTo(Map.of("KEY2", List.of("10.99.0.2/32")));
    }

    @Test
    void notMeTheDevicesTrafficGoesToItsGatewayNode() {
        var routes = ExternalPeerRoutes.of("m", me, List.of(n2), List.of(
                peer("m", "PHONE", "10.99.0.1/32", "n2", "vpn.example.test:4500"),
                peer("m", "LAPTOP", "10.99.0.2/32", "n2", "198.18.0.2:51820"),
                // an endpoint that is also this node's does not make it the gateway: gatewayNode decides
                peer("m", "TABLET", "10.99.0.3/32", "n2", "198.18.0.1:51820"),
                peer("m", "WAITING", "10.99.0.4/32", "n3", "198.18.0.3:51820"), // gateway not accepted yet
                peer("other", "ELSE", "10.98.0.1/32", "n1", "198.18.0.1:51820")));
        assertThat(routes.served()).isEmpty();
        assertThat(routes.viaNode()).containsOnlyKeys("KEY2");
        assertThat(routes.viaNode().get("KEY2")).containsExactly("10.99.0.1/32", "10.99.0.2/32", "10.99.0.3/32");
        // Without a WireGuardNode of its own, a node is no one's gateway.
        assertThat(ExternalPeerRoutes.of("m", null, List.of(n2), List.of(peer("m", "PHONE", "10.99.0.1/32", "n1", "x.example:1"))).served()).isEmpty();
    }
}
