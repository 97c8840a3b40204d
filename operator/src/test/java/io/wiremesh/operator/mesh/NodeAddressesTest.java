package io.wiremesh.operator.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeAddressesTest {
    private static Node node(String... typeAndAddress) {
        List<NodeAddress> list = new ArrayList<>();
        for (int i = 0; i < typeAndAddress.length; i += 2) list.add(new NodeAddress(typeAndAddress[i + 1], typeAndAddress[i]));
        Node n = new Node();
        n.setStatus(new NodeStatus());
        n.getStatus().setAddresses(list);
        return n;
    }

    @Test
    void internalUnicastLiteralIpsOnlySortedAndUnique() {
        assertThat(NodeAddresses.of(node("Hostname", "n1", "InternalIP", "198.18.0.11", "ExternalDNS", "n1.example",
                "InternalIP", "fd18::11", "InternalIP", "198.18.0.11", "InternalIP", "not-an-ip", "InternalIP", "::ffff:1.2.3.4")))
                .containsExactly("198.18.0.11", "fd18::11");
        // ExternalIP is often a 1:1 NAT address the node does not hold; the rest no other host can send to.
        assertThat(NodeAddresses.of(node("ExternalIP", "203.0.113.7", "InternalIP", "127.0.0.1", "InternalIP", "169.254.169.254",
                "InternalIP", "fe80::1", "InternalIP", "0.0.0.0", "InternalIP", "::", "InternalIP", "224.0.0.1", "InternalIP", "ff02::1"))).isEmpty();
        assertThat(NodeAddresses.of(new Node())).isEmpty();
    }

    @Test
    void nothingInsideTheMeshsPoolsAndNothingTwoNodesReport() {
        List<io.wiremesh.api.net.Cidr> pools = List.of(io.wiremesh.api.net.Cidr.parse("10.42.0.0/16"), io.wiremesh.api.net.Cidr.parse("fd42::/48"));
        assertThat(NodeAddresses.claimable(List.of("10.42.3.7", "198.18.0.11", "fd42::5", "fd18::11", "10.0.2.15"), pools, java.util.Set.of("10.0.2.15")))
                .containsExactly("198.18.0.11", "fd18::11");
    }

    @Test
    void atMostTheSchemasLimit() {
        String[] many = new String[40];
        for (int i = 0; i < 20; i++) {
            many[2 * i] = "InternalIP";
            many[2 * i + 1] = "198.18.1." + (10 + i);
        }
        assertThat(NodeAddresses.of(node(many))).hasSize(NodeAddresses.MAX);
    }

    @Test
    void onlyKeptAddressesCountAsAChange() {
        assertThat(NodeAddresses.changed(node("InternalIP", "198.18.0.11"), node("InternalIP", "198.18.0.11", "Hostname", "x"))).isFalse();
        assertThat(NodeAddresses.changed(node("InternalIP", "198.18.0.11"), node("InternalIP", "198.18.0.12"))).isTrue();
    }

    @Test
    void anAddressTwoNodesReportIsContested() {
        Node a = node("InternalIP", "198.18.0.11", "InternalIP", "10.0.2.15"), b = node("InternalIP", "198.18.0.12", "InternalIP", "10.0.2.15");
        Node c = node("ExternalIP", "198.18.0.11");
        assertThat(NodeAddresses.contested(List.of(a, b, c))).containsExactly("10.0.2.15");
        assertThat(NodeAddresses.contested(List.of(a))).isEmpty();
    }

    @Test
    void whatIsLeftOutIsNamedInTheRejection() {
        assertThat(NodeAddresses.rejection("n1", List.of("198.18.0.11"), List.of("198.18.0.11"))).isEmpty();
        assertThat(NodeAddresses.rejection("n1", List.of("10.0.2.15", "10.42.3.7", "198.18.0.11"), List.of("198.18.0.11")))
                .contains("node n1: [10.0.2.15, 10.42.3.7] not reachable through the tunnel (reported by another node too, or"
                        + " inside the mesh's pod or peer CIDRs): give each node its own InternalIP");
    }
}
