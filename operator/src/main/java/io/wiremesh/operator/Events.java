package io.wiremesh.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;

/** Kubernetes Events about wiremesh's cluster-scoped objects (their events live in the default namespace). */
public final class Events {
    private static final String COMPONENT = "wiremesh-operator";

    private Events() {}

    /** A Warning Event on {@code object} (a WireGuardMesh, WireGuardNode or WireGuardPeer); best effort, never throws. */
    public static void warning(KubernetesClient client, HasMetadata object, String reason, String message) {
        event(client, object, "Warning", reason, message);
    }

    /** A Normal Event on {@code object}; best effort, never throws. */
    public static void normal(KubernetesClient client, HasMetadata object, String reason, String message) {
        event(client, object, "Normal", reason, message);
    }

    private static void event(KubernetesClient client, HasMetadata object, String type, String reason, String message) {
        String now = Instant.now().toString();
        try {
            client.v1().events().inNamespace("default").resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(object.getMetadata().getName() + ".").withNamespace("default").endMetadata()
                    .withNewInvolvedObject()
                    .withApiVersion(object.getApiVersion()).withKind(object.getKind())
                    .withName(object.getMetadata().getName()).withUid(object.getMetadata().getUid())
                    .endInvolvedObject()
                    .withType(type).withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent(COMPONENT).endSource()
                    .build()).create();
        } catch (KubernetesClientException e) {
            // An event is a courtesy: the status condition carries the same message.
        }
    }
}
