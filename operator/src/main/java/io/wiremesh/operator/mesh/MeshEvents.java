package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import java.time.Instant;

/** Kubernetes Events about a mesh (cluster-scoped objects' events live in the default namespace). */
final class MeshEvents {
    private static final String COMPONENT = "wiremesh-operator";

    private MeshEvents() {}

    static void warning(KubernetesClient client, WireGuardMesh mesh, String reason, String message) {
        String now = Instant.now().toString();
        try {
            client.v1().events().inNamespace("default").resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(mesh.getMetadata().getName() + ".").withNamespace("default").endMetadata()
                    .withNewInvolvedObject()
                    .withApiVersion(mesh.getApiVersion()).withKind(mesh.getKind())
                    .withName(mesh.getMetadata().getName()).withUid(mesh.getMetadata().getUid())
                    .endInvolvedObject()
                    .withType("Warning").withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent(COMPONENT).endSource()
                    .build()).create();
        } catch (KubernetesClientException e) {
            // An event is a courtesy: the status condition carries the same message.
        }
    }
}
