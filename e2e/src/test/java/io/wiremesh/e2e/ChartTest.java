package io.wiremesh.e2e;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** charts/wiremesh: lints strictly, renders, carries the current CRDs, and the real API server accepts what it renders. */
class ChartTest {
    static final Path CHART = Host.ROOT.resolve("charts/wiremesh");

    static String render(boolean mesh) {
        return new Helm(CHART).template().withName("wiremesh").withNamespace("wiremesh-system")
                .set("defaultMesh.create", mesh).set("defaultMesh.podCIDRs[0]", "10.42.0.0/16").call();
    }

    @Test
    void theDatapathIsJavaOrWireguardGoAndNothingElse() {
        var template = new Helm(CHART).template().withName("wiremesh").withNamespace("wiremesh-system");
        assertThat(render(false)).contains("/opt/wiremesh/bin/wiremesh-wg").doesNotContain("bin/wireguard-go");
        assertThat(template.set("datapath.implementation", "wireguard-go").call()).contains("/opt/wiremesh/bin/wireguard-go");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Helm(CHART).template().withName("wiremesh")
                        .set("datapath.implementation", "boringtun").call())
                .hasMessageContaining("datapath.implementation must be java or wireguard-go");
    }

    /**
     * Each datapath gets the memory it was measured to need (docs/benchmarks.md): the current
     * wireguard-go peaks above 400 MB and was OOM-killed under the Java datapath's limit.
     */
    @Test
    void eachDatapathGetsItsOwnMemoryLimit() throws Exception {
        KubernetesClient client = KubeApiServer.client();
        for (String impl : List.of("java", "wireguard-go")) {
            String yaml = new Helm(CHART).template().withName("wiremesh").withNamespace("wiremesh-system")
                    .set("datapath.implementation", impl).call();
            DaemonSet datapath = client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items().stream()
                    .filter(o -> o instanceof DaemonSet d && d.getMetadata().getName().startsWith("wiremesh-datapath-"))
                    .map(o -> (DaemonSet) o).findFirst().orElseThrow();
            var resources = datapath.getSpec().getTemplate().getSpec().getContainers().get(0).getResources();
            assertThat(resources.getLimits().get("memory").toString()).as(impl).isEqualTo(impl.equals("java") ? "192Mi" : "640Mi");
            assertThat(resources.getRequests()).as(impl).containsKey("memory");
        }
    }

    /** Node-daemons read Secrets only in the peer-keys namespace, never in the release's (the operator's token lives there on old clusters). */
    @Test
    void nodesReadSecretsOnlyInTheirOwnNamespace() {
        String yaml = render(false);
        assertThat(yaml).contains("kind: Namespace\nmetadata:\n  name: wiremesh-peer-keys");
        assertThat(yaml).containsPattern("kind: Role\\nmetadata:\\n  name: wiremesh-node-psk\\n  namespace: wiremesh-peer-keys");
        assertThat(yaml).doesNotContainPattern("resources: \\[wireguardnodes/status, wireguardpeers/status\\]");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Helm(CHART).template().withName("wiremesh").withNamespace("wiremesh-system")
                .set("peerKeys.namespace", "wiremesh-system").call()).hasMessageContaining("peerKeys.namespace must not be the release namespace");
    }

    private static DaemonSet datapath(String... values) {
        var template = new Helm(CHART).template().withName("wiremesh").withNamespace("wiremesh-system");
        for (int i = 0; i < values.length; i += 2) template.set(values[i], values[i + 1]);
        String yaml = template.call();
        return KubeApiServer.client().load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items().stream()
                .filter(o -> o instanceof DaemonSet d && d.getMetadata().getName().startsWith("wiremesh-datapath-"))
                .map(o -> (DaemonSet) o).findFirst().orElseThrow();
    }

    /**
     * A changed datapath pod is a new DaemonSet (named by the pod template's hash), so that on Kubernetes 1.20,
     * whose DaemonSet controller replaces a pod only once the old one is gone, the new pod starts beside the old one
     * and takes the interface over; a change elsewhere leaves the datapath alone. The old pod serves on for
     * datapath.handoverSeconds after SIGTERM, within its grace period.
     */
    @Test
    void aChangedDatapathPodIsANewDaemonSetAndTheOldOneWaitsToHandOver() {
        DaemonSet base = datapath();
        String name = base.getMetadata().getName();
        assertThat(datapath("image.tag", "next").getMetadata().getName()).as("an image bump").isNotEqualTo(name);
        assertThat(datapath("datapath.workers", "2").getMetadata().getName()).as("a datapath value").isNotEqualTo(name);
        assertThat(datapath("operator.replicas", "2").getMetadata().getName()).as("an operator value").isEqualTo(name);
        assertThat(datapath("nodeDaemon.statusPort", "9999").getMetadata().getName()).as("a node-daemon value").isEqualTo(name);
        String template = base.getMetadata().getLabels().get("wiremesh.io/datapath-template");
        assertThat(name).endsWith("-" + template);
        assertThat(base.getSpec().getSelector().getMatchLabels()).containsEntry("wiremesh.io/datapath-template", template);
        assertThat(base.getSpec().getTemplate().getMetadata().getLabels()).containsEntry("wiremesh.io/datapath-template", template);
        var pod = base.getSpec().getTemplate().getSpec();
        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(40L);
        assertThat(pod.getContainers().getFirst().getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("WIREMESH_WG_HANDOVER_WAIT");
            assertThat(e.getValue()).isEqualTo("30");
        });
        assertThat(pod.getContainers().getFirst().getPorts()).as("no declared port: the scheduler would hold the new pod for the old one's").isEmpty();
        // wireguard-go cannot take over: its pod waits for the old one to let go of the interface instead of crash-looping,
        // and an old one asked to stop serves on until its successor is about to start.
        String go = String.join("\n", datapath("datapath.implementation", "wireguard-go").getSpec().getTemplate().getSpec().getContainers()
                .getFirst().getCommand());
        assertThat(go).contains("while [ -e \"/sys/class/net/$0\" ]").contains("while [ ! -e \"$successor\" ] && [ $n -lt 300 ]");
        String java = String.join("\n", pod.getContainers().getFirst().getCommand());
        assertThat(java).doesNotContain("while [ -e \"/sys/class/net/$0\" ]").doesNotContain("while [ ! -e \"$successor\" ]")
                .contains("touch \"$successor\"");
    }

    @Test
    void lintsStrictly() {
        var result = new Helm(CHART).lint().strict().call();
        assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
    }

    @Test
    void carriesTheGeneratedCrds() throws Exception {
        try (var files = Files.list(Host.ROOT.resolve("crds"))) {
            for (Path crd : files.toList()) {
                assertThat(Files.readString(CHART.resolve("crds").resolve(crd.getFileName())))
                        .as("charts/wiremesh/crds/%s differs from crds/: copy crds/*.yml into the chart", crd.getFileName())
                        .isEqualTo(Files.readString(crd));
            }
        }
    }

    @Test
    void rendersLeastPrivilegeWorkloads() throws Exception {
        KubernetesClient client = KubeApiServer.client();
        List<HasMetadata> objects = client.load(new ByteArrayInputStream(render(true).getBytes(StandardCharsets.UTF_8))).items();
        assertThat(objects).extracting(HasMetadata::getKind).contains("ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                "Deployment", "DaemonSet", "WireGuardMesh");
        List<DaemonSet> daemonSets = objects.stream().filter(o -> o instanceof DaemonSet).map(o -> (DaemonSet) o).toList();
        // node-daemon and datapath apart: deleting the node-daemon pod must not take the interface down.
        assertThat(daemonSets).extracting(d -> d.getMetadata().getName()).hasSize(2).contains("wiremesh-node")
                .anySatisfy(n -> assertThat(n).matches("wiremesh-datapath-[0-9a-f]{10}"));
        for (DaemonSet ds : daemonSets) {
            assertThat(ds.getSpec().getTemplate().getSpec().getHostNetwork()).isTrue();
            assertThat(ds.getSpec().getTemplate().getSpec().getContainers()).allSatisfy(c -> {
                assertThat(c.getSecurityContext().getPrivileged()).isNotEqualTo(Boolean.TRUE);
                assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            });
        }
        DaemonSet datapath = daemonSets.stream().filter(d -> d.getMetadata().getName().startsWith("wiremesh-datapath-")).findFirst().orElseThrow();
        assertThat(datapath.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken()).isFalse();
        assertThat(datapath.getSpec().getTemplate().getSpec().getContainers().getFirst().getSecurityContext().getCapabilities().getAdd())
                .containsExactly("NET_ADMIN");
        // Restarted when the node-daemon finds it hanging: the probe reads the mark, no client or JVM of its own.
        assertThat(datapath.getSpec().getTemplate().getSpec().getContainers().getFirst().getLivenessProbe().getExec().getCommand())
                .containsExactly("/bin/sh", "-c", "test ! -e /var/run/wireguard/wiremesh0.unresponsive");
        // The stopping node-daemon uninstalls only when its DaemonSet is being deleted, which it may read and nothing more;
        // no preStop hook (a second JVM in the container would not fit its memory limit).
        DaemonSet node = daemonSets.stream().filter(d -> d.getMetadata().getName().equals("wiremesh-node")).findFirst().orElseThrow();
        var nodeDaemon = node.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertThat(nodeDaemon.getCommand()).contains("--daemonset=wiremesh-node", "--cni-exclusive=false");
        assertThat(nodeDaemon.getLifecycle()).isNull();
        assertThat(objects).filteredOn(o -> o instanceof io.fabric8.kubernetes.api.model.rbac.Role && o.getMetadata().getName().endsWith("-lifecycle"))
                .singleElement().satisfies(o -> assertThat(((io.fabric8.kubernetes.api.model.rbac.Role) o).getRules()).singleElement()
                        .satisfies(r -> {
                            assertThat(r.getResources()).containsExactly("daemonsets");
                            assertThat(r.getResourceNames()).containsExactly("wiremesh-node");
                        }));
        assertThat(render(true)).doesNotContain("\"*\"");
        // No cluster-wide access to Secrets; nodes may only read (preshared keys) in the peer-keys namespace, not the
        // release's (the operator's token lives there on old clusters).
        for (HasMetadata o : objects) {
            if (o instanceof io.fabric8.kubernetes.api.model.rbac.ClusterRole cr) {
                assertThat(cr.getRules()).allSatisfy(r -> assertThat(r.getResources()).doesNotContain("secrets"));
            }
            if (o instanceof io.fabric8.kubernetes.api.model.rbac.Role role) {
                boolean secrets = role.getRules().stream().anyMatch(r -> r.getResources().contains("secrets"));
                assertThat(role.getMetadata().getNamespace()).isEqualTo(secrets ? "wiremesh-peer-keys" : "wiremesh-system");
                // Read-only, but for the operator's leader-election Lease.
                boolean lease = role.getRules().stream().allMatch(r -> r.getResources().equals(List.of("leases")));
                assertThat(role.getRules()).allSatisfy(r -> assertThat(r.getVerbs()).containsExactly(lease ? new String[] {"get", "create", "update", "patch"} : new String[] {"get"}));
            }
        }
    }

    @Test
    void theRealApiServerAcceptsEveryRenderedObject() throws Exception {
        KubernetesClient client = KubeApiServer.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName("wiremesh-system").endMetadata().build())
                .createOr(NonDeletingOperation::update);
        List<HasMetadata> objects = client.load(new ByteArrayInputStream(render(true).getBytes(StandardCharsets.UTF_8))).items();
        // The chart creates the peer-keys namespace; a dry run stores nothing, so the Role in it needs the namespace for real.
        objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.Namespace).forEach(n -> client.resource(n).createOr(NonDeletingOperation::update));
        for (HasMetadata o : objects) {
            if (o instanceof io.fabric8.kubernetes.api.model.Namespace) continue; // created above
            // Server-side dry run: full validation and admission, nothing stored.
            HasMetadata accepted = client.resource(o).dryRun().create();
            assertThat(accepted.getMetadata().getName()).isEqualTo(o.getMetadata().getName());
        }
    }
}
