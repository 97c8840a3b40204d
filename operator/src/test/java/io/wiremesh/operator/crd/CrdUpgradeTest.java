package io.wiremesh.operator.crd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import org.junit.jupiter.api.Test;

/**
 * On a real kube-apiserver serving an older WireGuardPeer CRD (one field fewer, as a previous release's chart left
 * it): the API server prunes the field; the operator's start brings the CRD to its model's version, after which the
 * field is kept; an operator that may not write CRDs refuses to start and says which to apply.
 */
class CrdUpgradeTest {
    private static final String PEERS = "wireguardpeers.wiremesh.io";

    private static CustomResourceDefinition model() {
        return CrdUpgrade.model().stream().filter(c -> c.getMetadata().getName().equals(PEERS)).findFirst().orElseThrow();
    }

    private static CustomResourceDefinition older() {
        CustomResourceDefinition crd = model();
        crd.getSpec().getVersions().getFirst().getSchema().getOpenAPIV3Schema().getProperties().get("spec").getProperties().remove("persistentKeepalive");
        crd.getMetadata().getAnnotations().put(io.wiremesh.api.crd.ModelDigest.ANNOTATION, io.wiremesh.api.crd.ModelDigest.of(crd));
        return crd;
    }

    /** Creates a peer with persistentKeepalive 17 and returns what the API server kept of it (null: pruned). */
    private static Integer keepaliveKept(KubernetesClient client, String name) {
        WireGuardPeer p = new WireGuardPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(name).build());
        p.setSpec(new WireGuardPeerSpec());
        p.getSpec().mesh = "crd-upgrade";
        p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        p.getSpec().persistentKeepalive = 17;
        try {
            return client.resource(p).create().getSpec().persistentKeepalive;
        } finally {
            client.resource(p).delete();
        }
    }

    private static CustomResourceDefinition served(KubernetesClient client) {
        return client.apiextensions().v1().customResourceDefinitions().withName(PEERS).get();
    }

    /** Serves the older CRD (as a chart's crds/ of a previous release) and waits until the API server prunes by it. */
    private static void serveOlder(KubernetesClient client) {
        CustomResourceDefinition older = older();
        older.getMetadata().setResourceVersion(served(client).getMetadata().getResourceVersion());
        client.resource(older).update(); // as Helm installs CRDs (create/replace)
        await().atMost(Liveness.BOUND).until(() -> keepaliveKept(client, "crd-probe") == null);
    }

    @Test
    void anOlderCrdIsUpgradedAtStartAndNoFieldIsDropped() {
        KubernetesClient client = KubeApiServer.client();
        try {
            serveOlder(client);
            assertThat(keepaliveKept(client, "crd-old")).as("the older CRD prunes the field").isNull();
            assertThat(CrdUpgrade.decide(served(client), model(), true)).isEqualTo(CrdUpgrade.Action.APPLY);

            CrdUpgrade.ensure(client, true);
            assertThat(CrdUpgrade.decide(served(client), model(), false)).as("served after the apply").isEqualTo(CrdUpgrade.Action.UP_TO_DATE);
            await().atMost(Liveness.BOUND).until(() -> keepaliveKept(client, "crd-probe") != null);
            assertThat(keepaliveKept(client, "crd-new")).as("the upgraded CRD keeps the field").isEqualTo(17);
            CrdUpgrade.ensure(client, false); // up to date: nothing to write, nothing refused
        } finally {
            CrdUpgrade.ensure(client, true);
        }
    }

    @Test
    void anOperatorThatMayNotWriteCrdsRefusesOlderOnesAndSaysWhatToApply() {
        KubernetesClient client = KubeApiServer.client();
        try {
            serveOlder(client);
            assertThatThrownBy(() -> CrdUpgrade.ensure(client, false)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(PEERS + " (older or different").hasMessageContaining("kubectl replace -f charts/wiremesh/crds/")
                    .hasMessageNotContaining("wireguardmeshes.wiremesh.io (");
        } finally {
            CrdUpgrade.ensure(client, true);
        }
    }
}
