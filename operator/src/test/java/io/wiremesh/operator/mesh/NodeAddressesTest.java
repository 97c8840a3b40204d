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
    void internalAndExternalLiteralIpsOnlySortedAndUnique() {
        assertThat(NodeAddresses.of(node("Hostname", "n1", "InternalIP", "198.18.0.11", "ExternalDNS", "n1.example",
                "ExternalIP", "fd18::11", "InternalIP", "198.18.0.11", "InternalIP", "not-an-ip", "InternalIP", "::ffff:1.2.3.4")))
                .containsExactly("198.18.0.11", "fd18::11");
        assertThat(NodeAddresses.of(new Node())).isEmpty();
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
}
