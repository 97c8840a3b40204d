package io.wiremesh.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.wiremesh.testing.KubeApiServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The decision a stopping node-daemon makes ({@code --daemonset}), on a real kube-apiserver: a replaced
 * node-daemon pod keeps the node's state (masquerade table, policy routes, CNI configuration), a deleted
 * DaemonSet means uninstall.
 */
class DaemonSetRemovalTest {
    @Test
    void uninstallsOnlyWhenTheDaemonSetGoes() throws Exception {
        KubernetesClient client = KubeApiServer.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName("wm-sys").endMetadata().build()).create();
        DaemonSet ds = new DaemonSetBuilder().withNewMetadata().withName("wiremesh-node").withNamespace("wm-sys")
                .withFinalizers("wiremesh.io/test-keeps-it").endMetadata()
                .withNewSpec().withNewSelector().withMatchLabels(Map.of("app", "n")).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(Map.of("app", "n")).endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("x").endContainer().endSpec().endTemplate().endSpec().build();
        client.resource(ds).create();
        assertThat(NodeDaemon.removedForGood(client, "wm-sys", "wiremesh-node")).as("pod replaced, DaemonSet stays").isFalse();

        client.apps().daemonSets().inNamespace("wm-sys").withName("wiremesh-node").delete();
        assertThat(NodeDaemon.removedForGood(client, "wm-sys", "wiremesh-node")).as("DaemonSet being deleted").isTrue();
        client.apps().daemonSets().inNamespace("wm-sys").withName("wiremesh-node").edit(d -> {
            d.getMetadata().setFinalizers(List.of());
            return d;
        });
        assertThat(NodeDaemon.removedForGood(client, "wm-sys", "wiremesh-node")).as("DaemonSet gone").isTrue();
        // No API answer at all: keep everything (a restart must never remove the node's rules).
        try (KubernetesClient unreachable = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1")
                .withRequestRetryBackoffLimit(0).withConnectionTimeout(1000).build()).build()) {
            assertThat(NodeDaemon.removedForGood(unreachable, "wm-sys", "wiremesh-node")).isFalse();
        }
    }
}
