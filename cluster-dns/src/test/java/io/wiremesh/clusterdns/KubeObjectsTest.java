package io.wiremesh.clusterdns;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Endpoints;
import io.fabric8.kubernetes.api.model.EndpointsBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class KubeObjectsTest {
    private static Service service(String ns, String name, String type, String clusterIp, List<String> clusterIps, String externalName) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
                .withNewSpec().withType(type).withClusterIP(clusterIp).withClusterIPs(clusterIps).withExternalName(externalName)
                .addNewPort().withName("http").withProtocol("TCP").withPort(80).endPort()
                .addNewPort().withProtocol("UDP").withPort(9999).endPort()
                .endSpec().build();
    }

    private static Endpoints endpoints(String ns, String name) {
        return new EndpointsBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
                .addNewSubset()
                .addNewAddress().withIp("10.42.1.5").withHostname("db-0").endAddress()
                .addNewAddress().withIp("10.42.2.7").endAddress()
                .addNewAddress().withIp("not-an-ip").endAddress()
                .addNewNotReadyAddress().withIp("10.42.3.3").endNotReadyAddress()
                .addNewPort().withName("http").withProtocol("TCP").withPort(8080).endPort()
                .endSubset()
                .addNewSubset()
                .addNewAddress().withIp("fd00:42::9").endAddress()
                .addNewPort().withName("http").withProtocol("TCP").withPort(8081).endPort()
                .endSubset()
                .build();
    }

    @Test
    void kindsAddressesPortsAndReadyEndpoints() {
        ClusterState state = KubeObjects.toClusterState(List.of(
                service("shop", "web", "ClusterIP", "10.96.5.5", List.of("10.96.5.5", "fd00:96::5"), null),
                service("shop", "old", "NodePort", "10.96.5.6", null, null),
                service("shop", "db", "ClusterIP", "None", List.of("None"), null),
                service("shop", "ext", "ExternalName", null, null, "example.com"),
                service("shop", "pending", "ClusterIP", "", null, null)),
                List.of(endpoints("shop", "db"), endpoints("shop", "web"), endpoints("other", "db")));

        assertThat(state.services()).extracting(ClusterState.Service::name).containsExactly("web", "old", "db", "ext", "pending");
        ClusterState.Service web = state.services().get(0), old = state.services().get(1), db = state.services().get(2),
                ext = state.services().get(3), pending = state.services().get(4);

        assertThat(web.kind()).isEqualTo(ClusterState.Kind.CLUSTER_IP);
        assertThat(web.clusterIps()).containsExactly(InetAddress.ofLiteral("10.96.5.5"), InetAddress.ofLiteral("fd00:96::5"));
        assertThat(web.ports()).containsExactly(new ClusterState.Port("http", "TCP", 80), new ClusterState.Port("", "UDP", 9999));
        assertThat(old.clusterIps()).containsExactly(InetAddress.ofLiteral("10.96.5.6"));
        assertThat(pending.clusterIps()).isEmpty();

        assertThat(db.kind()).isEqualTo(ClusterState.Kind.HEADLESS);
        assertThat(db.clusterIps()).isEmpty();
        // Ready addresses only, each with its subset's ports; an unparsable address is left out.
        assertThat(db.endpoints()).containsExactly(
                new ClusterState.Endpoint(InetAddress.ofLiteral("10.42.1.5"), "db-0", List.of(new ClusterState.Port("http", "TCP", 8080))),
                new ClusterState.Endpoint(InetAddress.ofLiteral("10.42.2.7"), "", List.of(new ClusterState.Port("http", "TCP", 8080))),
                new ClusterState.Endpoint(InetAddress.ofLiteral("fd00:42::9"), "", List.of(new ClusterState.Port("http", "TCP", 8081))));

        assertThat(ext.kind()).isEqualTo(ClusterState.Kind.EXTERNAL_NAME);
        assertThat(ext.externalName()).isEqualTo("example.com");
        assertThat(ext.endpoints()).isEmpty();
    }

    @Test
    void objectsWithoutMetadataOrSpecAreSkipped() {
        ClusterState state = KubeObjects.toClusterState(List.of(new Service(), new ServiceBuilder().withNewMetadata().withName("x").endMetadata().build()),
                List.of(new Endpoints()));
        assertThat(state.services()).isEmpty();
    }

    @Test
    void aServiceWithoutEndpointsHasNone() {
        ClusterState state = KubeObjects.toClusterState(List.of(service("shop", "db", null, "None", null, null)), List.of());
        assertThat(state.services().getFirst().endpoints()).isEmpty();
        assertThat(state.services().getFirst().kind()).isEqualTo(ClusterState.Kind.HEADLESS);
    }
}
