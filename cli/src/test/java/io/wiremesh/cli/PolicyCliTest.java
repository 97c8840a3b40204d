package io.wiremesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.testing.KubeApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** `wiremesh policy explain` against a real kube-apiserver: pods with addresses in their status, one policy. */
class PolicyCliTest {
    private static final String NS = "cli-policy";
    private static KubernetesClient client;
    private static Path kubeconfig;

    @BeforeAll
    static void cluster() throws Exception {
        client = KubeApiServer.client();
        kubeconfig = Files.createTempFile("wiremesh-cli", ".kubeconfig");
        Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).addToLabels("team", "a").endMetadata().build()).create();
        pod("web", "10.77.5.2", "web");
        pod("client", "10.77.5.3", "client");
        pod("other", "10.77.6.2", "other");
        client.resource(new NetworkPolicyBuilder().withNewMetadata().withNamespace(NS).withName("web-from-client").endMetadata()
                .withNewSpec().withNewPodSelector().addToMatchLabels("app", "web").endPodSelector()
                .addNewIngress().addNewFrom().withNewPodSelector().addToMatchLabels("app", "client").endPodSelector().endFrom()
                .addNewPort().withPort(new IntOrString("http")).endPort().endIngress().endSpec().build()).create();
    }

    private static void pod(String name, String ip, String app) {
        Pod p = client.resource(new PodBuilder().withNewMetadata().withNamespace(NS).withName(name).addToLabels("app", app).endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("busybox").addNewPort().withName("http").withContainerPort(8080).endPort()
                .endContainer().endSpec().build()).create();
        p.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running").withPodIP(ip).addNewPodIP().withIp(ip).endPodIP().build());
        client.resource(p).updateStatus();
    }

    @AfterAll
    static void tearDown() throws Exception {
        client.namespaces().withName(NS).delete();
        Files.deleteIfExists(kubeconfig);
    }

    private static CliRun explain(String... args) {
        String[] full = new String[args.length + 4];
        full[0] = "policy";
        full[1] = "explain";
        full[2] = "--kubeconfig";
        full[3] = kubeconfig.toString();
        System.arraycopy(args, 0, full, 4, args.length);
        return CliRun.of(full);
    }

    @Test
    void anAllowedConnectionNamesTheRuleThatAllowsIt() {
        CliRun r = explain(NS + "/client", NS + "/web", "8080");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).startsWith("ALLOWED  cli-policy/client -> cli-policy/web TCP/8080")
                .contains("egress:  allowed - no policy selects cli-policy/client for egress")
                .contains("ingress: allowed - allowed by cli-policy/web-from-client ingress rule 0");
        assertThat(explain(NS + "/client", NS + "/web", "http").exit()).as("the port by its name").isZero();
    }

    @Test
    void aDeniedConnectionNamesThePoliciesThatIsolate() {
        CliRun other = explain(NS + "/other", NS + "/web", "8080/tcp");
        assertThat(other.exit()).isEqualTo(1);
        assertThat(other.out()).startsWith("DENIED").contains("cli-policy/web is isolated for ingress by cli-policy/web-from-client");
        assertThat(explain(NS + "/client", NS + "/web", "9090").exit()).as("another port").isEqualTo(1);
        assertThat(explain(NS + "/client", NS + "/web").exit()).as("no port (ping)").isEqualTo(1);
        assertThat(explain("10.77.5.3", NS + "/web", "8080").exit()).as("the client by its address").isZero();
        assertThat(explain("198.51.100.7", NS + "/web", "8080").exit()).as("an address outside the pods").isEqualTo(1);
    }

    @Test
    void badInputSaysWhatToGive() {
        CliRun r = explain(NS + "/nope", NS + "/web", "8080");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no pod cli-policy/nope");
        assertThat(explain(NS + "/client", NS + "/web", "smtp").err()).contains("has no container port named smtp");
        assertThat(explain(NS + "/client", NS + "/web", "80/icmp").err()).contains("TCP, UDP or SCTP");
    }
}
