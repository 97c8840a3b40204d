package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** The preshared keys of external devices, from the Secrets their WireGuardPeers name (spec.presharedKeySecretRef). */
final class PeerSecrets {
    private final KubernetesClient client;

    PeerSecrets(KubernetesClient client) {
        this.client = client;
    }

    /**
     * The preshared key (base64, as {@code wg} takes it) of the device {@code spec} describes, or null for none.
     *
     * @throws IllegalStateException when the Secret or its key is missing (the peers step fails and names it)
     */
    String presharedKey(WireGuardPeerSpec spec) {
        if (spec == null || spec.presharedKeySecretRef == null) return null;
        var ref = spec.presharedKeySecretRef;
        var secret = client.secrets().inNamespace(ref.namespace).withName(ref.name).get();
        String field = ref.key == null ? "presharedKey" : ref.key;
        if (secret == null || secret.getData() == null || !secret.getData().containsKey(field)) {
            throw new IllegalStateException("Secret " + ref.namespace + "/" + ref.name + " has no key " + field);
        }
        return new String(Base64.getDecoder().decode(secret.getData().get(field)), StandardCharsets.US_ASCII).trim();
    }
}
