package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** A node problem becomes a Warning Event on the Node, as the real API server stores it and kubectl shows it. */
class NodeEventsTest {
    @Test
    void aProblemIsAWarningEventOnTheNode() {
        KubernetesClient client = KubeApiServer.client();
        String node = "wmt-events-" + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        new NodeEvents(client, node).warning("OtherNetworkConfiguration", "[/etc/cni/net.d/05-calico.conflist] takes precedence");
        await().atMost(Liveness.BOUND).until(() -> !events(client, node).isEmpty());
        Event e = events(client, node).getFirst();
        assertThat(e.getType()).isEqualTo("Warning");
        assertThat(e.getReason()).isEqualTo("OtherNetworkConfiguration");
        assertThat(e.getMessage()).contains("05-calico.conflist");
        assertThat(e.getInvolvedObject().getKind()).isEqualTo("Node");
        assertThat(e.getSource().getComponent()).isEqualTo(NodeEvents.COMPONENT);
        client.v1().events().inNamespace("default").withField("involvedObject.name", node).delete();
    }

    private static List<Event> events(KubernetesClient client, String node) {
        return client.v1().events().inNamespace("default").withField("involvedObject.name", node).list().getItems();
    }
}
