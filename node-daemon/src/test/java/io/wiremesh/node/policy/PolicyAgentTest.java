package io.wiremesh.node.policy;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.wiremesh.node.egress.Nft;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

    /**
     * The first lists time out (the API server's port accepts and never answers, as an overloaded server or a slow path
     * does), then the server comes through: the watches keep trying and the wired pod is covered. fabric8's informers stop
     * for good after a first list that timed out unless told otherwise, which left a node unable to wire any pod.
     */
    @Test
    void watchesWhoseFirstListFailsKeepTrying() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")), "needs nftables' nft (scripts/install-deps.sh)");
        String ns = "wmt-pol-retry";
        sh("ip", "netns", "add", ns);
        try (FlakyProxy proxy = new FlakyProxy(KubeApiServer.port());
             KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.fromKubeconfig(
                     KubeApiServer.kubeconfig().replace("127.0.0.1:" + KubeApiServer.port(), "127.0.0.1:" + proxy.port())))
                     .withRequestTimeout(500).withRequestRetryBackoffLimit(0).build()).build();
             PolicyAgent agent = new PolicyAgent(client, () -> List.of(new PolicyPlan.LocalPod("policy-agent", "web", "wm000000000002",
                     List.of("10.77.9.3"))), new Nft(List.of("ip", "netns", "exec", ns, "nft")), "wiremesh0").start()) {
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while (proxy.held() < 3 && System.nanoTime() < deadline) Thread.sleep(50);
            assertThat(proxy.held()).as("the three lists were sent").isGreaterThanOrEqualTo(3);
            // Long enough for every first list to time out (0.5 s) and for its failure to reach the informer.
            assertThat(agent.awaitCovered(Duration.ofSeconds(3))).as("nothing is applied while the lists fail").isFalse();
            proxy.comeThrough();
            assertThat(agent.awaitCovered(Liveness.BOUND)).as("covered once the server answers").isTrue();
            assertThat(sh("ip", "netns", "exec", ns, "nft", "list", "set", "inet", "wiremesh-policy", "pod-addresses4")).contains("10.77.9.3");
        } finally {
            new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
        }
    }

    /** A loopback TCP port in front of the API server: leaves every connection unanswered until {@link #comeThrough}, then relays. */
    private static final class FlakyProxy implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final int target;
        private final List<Socket> unanswered = new CopyOnWriteArrayList<>();
        private volatile boolean through;

        FlakyProxy(int target) throws IOException {
            this.target = target;
            Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return socket.getLocalPort();
        }

        int held() {
            return unanswered.size();
        }

        void comeThrough() {
            through = true;
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket in = socket.accept();
                    if (!through) {
                        unanswered.add(in);
                        continue;
                    }
                    Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
                    Thread.ofVirtual().start(() -> relay(in, out));
                    Thread.ofVirtual().start(() -> relay(out, in));
                } catch (IOException e) {
                    // closed
                }
            }
        }

        private static void relay(Socket from, Socket to) {
            try (from; to) {
                from.getInputStream().transferTo(to.getOutputStream());
            } catch (IOException e) {
                // either side closed
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Socket s : unanswered) s.close();
        }
    }
}
