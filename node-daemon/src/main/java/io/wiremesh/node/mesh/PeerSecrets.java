package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The preshared keys of external devices, from the Secrets their WireGuardPeers name (spec.presharedKeySecretRef).
 * A value (or its absence) is kept for {@link #TTL}: a pass runs at least every 10 s and every second while one of
 * its steps fails, and must not turn into a GET per device per second; a changed Secret is read within the TTL
 * (Secrets are not watched: the node role may read them only in the peer-keys namespace).
 */
final class PeerSecrets {
    static final long TTL_NANOS = 30_000_000_000L;
    private final KubernetesClient client;
    private final java.util.function.LongSupplier nanoTime;
    private record Read(long at, String value, IllegalStateException failure) {}
    private final java.util.Map<String, Read> cache = new java.util.concurrent.ConcurrentHashMap<>();

    PeerSecrets(KubernetesClient client, java.util.function.LongSupplier nanoTime) {
        this.client = client;
        this.nanoTime = nanoTime;
    }

    /**
     * The preshared key (base64, as {@code wg} takes it) of the device {@code spec} describes, or null for none.
     *
     * @throws IllegalStateException when the Secret or its key is missing (the peers step fails and names it)
     */
    String presharedKey(WireGuardPeerSpec spec) {
        if (spec == null || spec.presharedKeySecretRef == null) return null;
        var ref = spec.presharedKeySecretRef;
        String id = ref.namespace + "/" + ref.name + "/" + ref.key;
        long now = nanoTime.getAsLong();
        Read r = cache.get(id);
        if (r == null || now - r.at() > TTL_NANOS) {
            try {
                r = new Read(now, read(ref), null);
            } catch (IllegalStateException e) { // missing: kept too; an API error is not (the next pass asks again)
                r = new Read(now, null, e);
            }
            cache.put(id, r);
        }
        if (r.failure() != null) throw r.failure();
        return r.value();
    }

    private String read(io.wiremesh.api.v1alpha1.WireGuardPeerSpec.SecretKeyRef ref) {
        var secret = client.secrets().inNamespace(ref.namespace).withName(ref.name).get();
        String field = ref.key == null ? "presharedKey" : ref.key;
        if (secret == null || secret.getData() == null || !secret.getData().containsKey(field)) {
            throw new IllegalStateException("Secret " + ref.namespace + "/" + ref.name + " has no key " + field);
        }
        return new String(Base64.getDecoder().decode(secret.getData().get(field)), StandardCharsets.US_ASCII).trim();
    }
}
