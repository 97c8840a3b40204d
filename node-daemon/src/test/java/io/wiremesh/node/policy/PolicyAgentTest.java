package io.wiremesh.node.policy;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.node.egress.Nft;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * {@link PolicyAgent} against a real kube-apiserver and a real nftables in a namespace of the test's own: a wired pod is
 * covered (its ADD may return) once the table holds it, a NetworkPolicy created later reaches the table, and a table
 * nft refuses makes the wait fail at once with the reason.
 */
class PolicyAgentTest {
    @Test
    void aWiredPodIsCoveredAndPoliciesFollow() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")), "needs nftables' nft (scripts/install-deps.sh)");
        KubernetesClient client = KubeApiServer.client();
        String ns = "wmt-pol-agent";
        client.resource(new NamespaceBuilder().withNewMetadata().withName("policy-agent").endMetadata().build()).createOr(x -> x.update());
        sh("ip", "netns", "add", ns);
        List<PolicyPlan.LocalPod> wired = new CopyOnWriteArrayList<>();
        try (PolicyAgent agent = new PolicyAgent(client, () -> wired, new Nft(List.of("ip", "netns", "exec", ns, "nft")), "wiremesh0").start()) {
            wired.add(new PolicyPlan.LocalPod("policy-agent", "web", "wm000000000001", List.of("10.77.9.2")));
            assertThat(agent.awaitCovered(Liveness.BOUND)).isTrue();
            assertThat(sh("ip", "netns", "exec", ns, "nft", "list", "set", "inet", "wiremesh-policy", "pod-addresses4")).contains("10.77.9.2");
            assertThat(agent.enforcing()).isTrue();

            client.resource(new NetworkPolicyBuilder().withNewMetadata().withNamespace("policy-agent").withName("deny").endMetadata()
                    .withNewSpec().withNewPodSelector().endPodSelector().endSpec().build()).create();
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            String map = "";
            while (System.nanoTime() < deadline && !map.contains("10.77.9.2 : drop")) {
                // The pod is not in the API: with a policy in its namespace it is isolated with nothing allowed.
                map = sh("ip", "netns", "exec", ns, "nft", "list", "map", "inet", "wiremesh-policy", "ingress4");
                Thread.sleep(100);
            }
            assertThat(map).contains("10.77.9.2 : drop");
        } finally {
            client.network().v1().networkPolicies().inNamespace("policy-agent").withName("deny").delete();
            new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
        }
        assertThat(Files.exists(Path.of("/run/netns", ns))).isFalse();
    }

    @Test
    void aTableNftRefusesFailsTheWaitAtOnceWithTheReason() throws Exception {
        try (PolicyAgent agent = new PolicyAgent(KubeApiServer.client(), List::of, new Nft(List.of("/bin/false")), "wiremesh0").start()) {
            long t0 = System.nanoTime();
            assertThat(agent.awaitCovered(Liveness.BOUND)).isFalse();
            assertThat(System.nanoTime() - t0).as("failed before the bound, not at it").isLessThan(Liveness.BOUND.toNanos());
            assertThat(agent.lastFailure()).startsWith("cannot apply the NetworkPolicy table");
            assertThat(agent.applyFailed()).as("a node problem (Ready False, NetworkPolicyNotApplied)").isTrue();
            assertThat(agent.enforcing()).isFalse();
        }
    }
}
