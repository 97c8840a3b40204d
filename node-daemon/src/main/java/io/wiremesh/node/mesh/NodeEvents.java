package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;

/**
 * Warning Events on this node's Node object, written the way the kubelet writes its own (core/v1 Event in namespace
 * {@code default}, involvedObject kind Node with the node's name as uid), so {@code kubectl describe node} and
 * {@code kubectl get events} show them beside the kubelet's. One Event per appearance of a problem (the caller says
 * when); written on a thread of its own, so an API server that does not answer never holds up the node agent; a
 * failed write is logged and not retried (the Ready condition and the metrics still say it).
 */
final class NodeEvents {
    static final String COMPONENT = "wiremesh-node-daemon";
    private final KubernetesClient client;
    private final String node;

    NodeEvents(KubernetesClient client, String node) {
        this.client = client;
        this.node = node;
    }

    /** Writes a Warning Event with {@code reason} (UpperCamelCase, as in conditions) and {@code message}. */
    void warning(String reason, String message) {
        String now = Instant.now().toString();
        var event = new EventBuilder()
                .withNewMetadata().withGenerateName(node + ".").withNamespace("default").endMetadata()
                .withNewInvolvedObject().withApiVersion("v1").withKind("Node").withName(node).withUid(node).endInvolvedObject()
                .withType("Warning").withReason(reason).withMessage(message)
                .withNewSource().withComponent(COMPONENT).withHost(node).endSource()
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .build();
        Thread.ofVirtual().name("node-event").start(() -> {
            try {
                client.v1().events().inNamespace("default").resource(event).create();
            } catch (RuntimeException e) {
                new NodeLog().info("cannot write the Event " + reason + " on Node " + node + ": " + e.getMessage());
            }
        });
    }
}
