package io.wiremesh.node.policy;

import io.wiremesh.api.policy.Policy;
import io.wiremesh.api.policy.PolicySnapshot;
import io.wiremesh.api.policy.PolicyVerdict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeerBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The truth table: generated clusters (namespaces, pods with labels and named ports, 1-4 NetworkPolicies drawn from
 * selectors, namespace selectors, both, ipBlocks with except, numbered, ranged and named ports, TCP and UDP, every
 * policyTypes form, empty rules) enforced by {@link PolicyTable} on two nodes of network namespaces; every pod then
 * opens a new connection to every other pod and to both nodes on TCP and UDP ports 80 and 81, and each verdict of the
 * kernel is compared with {@link PolicyVerdict}'s (what {@code wiremesh policy explain} answers). Also: a pod sending with another pod's address is dropped; the
 * node reaches its pods whatever the policies.
 */
class PolicyTruthTableTest {
    private static final int PODS_PER_NODE = 3, SCENARIOS = 5;
    /** How long a probe waits: a denied probe costs this much; an allowed one that took longer is probed again for 10 s. */
    private static final int PROBE_MILLIS = 700;
    private static PolicyNamespaces net;

    @BeforeAll
    static void namespaces() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")), "needs nftables' nft (scripts/install-deps.sh)");
        net = new PolicyNamespaces(PODS_PER_NODE);
    }

    @AfterAll
    static void cleanUp() {
        if (net != null) net.close();
    }

    /** The generated cluster's pods: namespaces x, y, z; labels app; named ports "http" (TCP) and "dns" (UDP) on 80 or 81. */
    private static List<PolicySnapshot.Pod> pods() {
        String[][] placement = {{"x", "web"}, {"x", "db"}, {"y", "web"}, {"x", "api"}, {"y", "db"}, {"z", "web"}};
        List<PolicySnapshot.Pod> pods = new ArrayList<>();
        for (int k = 0; k < net.pods.size(); k++) {
            var p = net.pods.get(k);
            pods.add(new PolicySnapshot.Pod(placement[k][0], "p" + k, Map.of("app", placement[k][1], "idx", "i" + k), List.of(p.ip()),
                    List.of(new PolicySnapshot.NamedPort("http", "TCP", 80 + k % 2), new PolicySnapshot.NamedPort("dns", "UDP", 81 - k % 2))));
        }
        return pods;
    }

    private static final Map<String, Map<String, String>> NAMESPACES = Map.of("x", Map.of("team", "x", "env", "prod"), "y", Map.of("team", "y"), "z", Map.of());

    @Test
    void everyProbeMatchesPolicyVerdict() throws Exception {
        Random random = new Random(20261207);
        List<String> mismatches = new ArrayList<>();
        int cases = 0, allowed = 0;
        ExecutorService probes = Executors.newFixedThreadPool(24);
        try {
            for (int s = 0; s < SCENARIOS; s++) {
                List<NetworkPolicy> api = new ArrayList<>();
                int count = 1 + random.nextInt(4);
                for (int i = 0; i < count; i++) api.add(policy(random, "np" + i));
                PolicySnapshot cluster = new PolicySnapshot(pods(), NAMESPACES, api.stream().map(Policy::from).toList());
                for (int n = 0; n < 2; n++) {
                    int node = n;
                    List<PolicyPlan.LocalPod> local = new ArrayList<>();
                    for (int k = 0; k < net.pods.size(); k++) {
                        var p = net.pods.get(k);
                        if (p.node() == node) local.add(new PolicyPlan.LocalPod(cluster.pods().get(k).namespace(), "p" + k, p.veth(), List.of(p.ip())));
                    }
                    PolicyNamespaces.nft(n, PolicyTable.script(PolicyPlan.of(cluster, local), "wiremesh0"));
                }
                                record Probe(String from, PolicyVerdict.End src, PolicyVerdict.End dst, String protocol, int port, boolean expected) {}
                List<Probe> list = new ArrayList<>();
                for (int a = 0; a < net.pods.size(); a++) {
                    PolicyVerdict.End src = new PolicyVerdict.End(cluster.pods().get(a), net.pods.get(a).ip());
                    List<PolicyVerdict.End> dsts = new ArrayList<>();
                    for (int b = 0; b < net.pods.size(); b++) if (b != a) dsts.add(new PolicyVerdict.End(cluster.pods().get(b), net.pods.get(b).ip()));
                    for (String nodeIp : PolicyNamespaces.NODE_IPS) dsts.add(new PolicyVerdict.End(null, nodeIp));
                    for (PolicyVerdict.End dst : dsts) {
                        for (String protocol : List.of("TCP", "UDP")) {
                            for (int port : new int[] {80, 81}) {
                                list.add(new Probe(net.pods.get(a).ns(), src, dst, protocol, port, PolicyVerdict.allowed(cluster, src, dst, protocol, port)));
                            }
                        }
                    }
                }
                List<Future<String>> results = new ArrayList<>();
                for (Probe p : list) {
                    results.add(probes.submit(() -> {
                        boolean got = PolicyNamespaces.reaches(p.from(), null, p.dst().ip(), p.protocol(), p.port(), PROBE_MILLIS);
                        // A slow machine may take longer than a probe waits: what should pass gets a long second chance.
                        if (!got && p.expected()) got = PolicyNamespaces.reaches(p.from(), null, p.dst().ip(), p.protocol(), p.port(), 10_000);
                        if (got == p.expected()) return null;
                        return (p.src().pod().key()) + " -> " + (p.dst().pod() == null ? p.dst().ip() : p.dst().pod().key()) + " " + p.protocol() + "/"
                                + p.port() + ": kernel " + (got ? "allowed" : "denied") + ", PolicyVerdict " + (p.expected() ? "allowed" : "denied");
                    }));
                }
                List<String> found = new ArrayList<>();
                for (Future<String> f : results) if (f.get() != null) found.add(f.get());
                if (!found.isEmpty()) mismatches.add("scenario " + s + " " + api.stream().map(PolicyTruthTableTest::describe).toList() + ":\n  "
                        + String.join("\n  ", found));
                cases += list.size();
                allowed += (int) list.stream().filter(Probe::expected).count();
            }
        } finally {
            probes.shutdownNow();
        }
        System.out.println("policy truth table: " + cases + " probes, " + allowed + " allowed by PolicyVerdict, " + mismatches.size()
                + " scenarios with mismatches");
        assertThat(mismatches).isEmpty();
        assertThat(cases).isGreaterThanOrEqualTo(500);
        assertThat(allowed).as("both verdicts occur").isBetween(cases / 10, cases * 9 / 10);
    }

    @Test
    void aPodCannotSendWithAnotherPodsAddressAndTheNodeReachesItsPods() throws Exception {
        var a = net.pods.get(0);
        var other = net.pods.get(1);
        var remote = net.pods.get(PODS_PER_NODE);
        // Default deny for everything in x, except from other's labels (the rights a forger would borrow).
        NetworkPolicy np = new NetworkPolicyBuilder().withNewMetadata().withNamespace("x").withName("only-from-db").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector()
                .addNewIngress().addNewFrom().withNewPodSelector().addToMatchLabels("app", "db").endPodSelector().endFrom().endIngress()
                .endSpec().build();
        PolicySnapshot cluster = new PolicySnapshot(pods(), NAMESPACES, List.of(Policy.from(np)));
        for (int n = 0; n < 2; n++) {
            List<PolicyPlan.LocalPod> local = new ArrayList<>();
            for (int k = 0; k < net.pods.size(); k++) {
                if (net.pods.get(k).node() == n) local.add(new PolicyPlan.LocalPod(cluster.pods().get(k).namespace(), "p" + k, net.pods.get(k).veth(), List.of(net.pods.get(k).ip())));
            }
            PolicyNamespaces.nft(n, PolicyTable.script(PolicyPlan.of(cluster, local), "wiremesh0"));
        }
        // other (app=db) may reach remote (x/api); a (app=web) may not, not even with other's address.
        assertThat(PolicyNamespaces.reaches(other.ns(), null, remote.ip(), "TCP", 80, 10_000)).as("the allowed pod").isTrue();
        assertThat(PolicyNamespaces.reaches(a.ns(), null, remote.ip(), "TCP", 80, PROBE_MILLIS)).as("the denied pod").isFalse();
        io.wiremesh.testing.Commands.sh("ip", "-n", a.ns(), "addr", "add", other.ip() + "/32", "dev", "eth0");
        try {
            assertThat(PolicyNamespaces.reaches(a.ns(), other.ip(), remote.ip(), "UDP", 80, PROBE_MILLIS)).as("forged source, other node").isFalse();
            assertThat(PolicyNamespaces.reaches(a.ns(), other.ip(), net.pods.get(2).ip(), "TCP", 81, PROBE_MILLIS)).as("forged source, same node").isFalse();
            assertThat(PolicyNamespaces.reaches(a.ns(), other.ip(), PolicyNamespaces.NODE_IPS[0], "TCP", 80, PROBE_MILLIS)).as("forged source, own node").isFalse();
        } finally {
            io.wiremesh.testing.Commands.sh("ip", "-n", a.ns(), "addr", "del", other.ip() + "/32", "dev", "eth0");
        }
        var nft = new io.wiremesh.node.egress.Nft(List.of("ip", "netns", "exec", PolicyNamespaces.NODES[0], "nft")).forTable(PolicyTable.TABLE);
        assertThat(PolicyCounters.parse(nft.counters())).as("the table's drop counters").containsKey("pod0-in")
                .hasEntrySatisfying(PolicyTable.SPOOFED, packets -> assertThat(packets).isGreaterThanOrEqualTo(3));
        assertThat(PolicyNamespaces.reaches(PolicyNamespaces.NODES[0], null, a.ip(), "TCP", 80, 10_000)).as("the pod's own node, e.g. kubelet probes").isTrue();
        assertThat(PolicyNamespaces.reaches(PolicyNamespaces.NODES[1], null, a.ip(), "TCP", 80, PROBE_MILLIS)).as("another node").isFalse();
    }

    // ---- the generator ----------------------------------------------------------------------------------------

    private static NetworkPolicy policy(Random r, String name) {
        String ns = pick(r, "x", "y", "z");
        var spec = new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicySpecBuilder().withPodSelector(selector(r));
        int types = r.nextInt(4);
        if (types == 1) spec.withPolicyTypes("Ingress");
        if (types == 2) spec.withPolicyTypes("Egress");
        if (types == 3) spec.withPolicyTypes("Ingress", "Egress");
        for (int i = r.nextInt(3); i > 0; i--) spec.addNewIngress().withFrom(peers(r)).withPorts(ports(r)).endIngress();
        for (int i = r.nextInt(3); i > 0; i--) spec.addNewEgress().withTo(peers(r)).withPorts(ports(r)).endEgress();
        return new NetworkPolicyBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata().withSpec(spec.build()).build();
    }

    private static io.fabric8.kubernetes.api.model.LabelSelector selector(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> new LabelSelectorBuilder().build();
            case 1 -> new LabelSelectorBuilder().addToMatchLabels("app", pick(r, "web", "db", "api")).build();
            case 2 -> new LabelSelectorBuilder().addNewMatchExpression().withKey("app").withOperator("In").withValues("db", "api").endMatchExpression().build();
            case 3 -> new LabelSelectorBuilder().addNewMatchExpression().withKey("app").withOperator("NotIn").withValues("web").endMatchExpression().build();
            default -> new LabelSelectorBuilder().addNewMatchExpression().withKey("idx").withOperator("Exists").endMatchExpression().build();
        };
    }

    private static List<NetworkPolicyPeer> peers(Random r) {
        List<NetworkPolicyPeer> out = new ArrayList<>();
        for (int i = r.nextInt(3); i > 0; i--) {
            out.add(switch (r.nextInt(7)) {
                case 0 -> new NetworkPolicyPeerBuilder().withPodSelector(selector(r)).build();
                case 1 -> new NetworkPolicyPeerBuilder().withNewNamespaceSelector().addToMatchLabels("team", pick(r, "x", "y")).endNamespaceSelector().build();
                case 2 -> new NetworkPolicyPeerBuilder().withPodSelector(selector(r)).withNewNamespaceSelector().addToMatchLabels("env", "prod").endNamespaceSelector().build();
                case 3 -> new NetworkPolicyPeerBuilder().withNewNamespaceSelector().endNamespaceSelector().build();
                case 4 -> new NetworkPolicyPeerBuilder().withNewIpBlock().withCidr("10.77.0.0/16").withExcept("10.77.2.0/24").endIpBlock().build();
                case 5 -> new NetworkPolicyPeerBuilder().withNewIpBlock().withCidr("10.77.1.8/29").withExcept("10.77.1.11/32").endIpBlock().build();
                default -> new NetworkPolicyPeerBuilder().withNewIpBlock().withCidr("198.18.7.2/24").endIpBlock().build(); // host bits set, as the API allows
            });
        }
        return out;
    }

    private static List<NetworkPolicyPort> ports(Random r) {
        List<NetworkPolicyPort> out = new ArrayList<>();
        for (int i = r.nextInt(3); i > 0; i--) {
            NetworkPolicyPort p = new NetworkPolicyPort();
            switch (r.nextInt(7)) {
                case 0 -> p.setPort(new IntOrString(80));
                case 1 -> { p.setProtocol("UDP"); p.setPort(new IntOrString(81)); }
                case 2 -> p.setPort(new IntOrString("http"));
                case 3 -> { p.setProtocol("UDP"); p.setPort(new IntOrString("dns")); }
                case 4 -> { p.setProtocol("TCP"); p.setPort(new IntOrString(80)); p.setEndPort(81); }
                case 5 -> p.setProtocol("UDP");
                default -> { p.setProtocol("SCTP"); p.setPort(new IntOrString(80)); }
            }
            out.add(p);
        }
        return out;
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... options) {
        return options[r.nextInt(options.length)];
    }

    private static String describe(NetworkPolicy np) {
        return np.getMetadata().getNamespace() + "/" + np.getMetadata().getName() + " " + np.getSpec();
    }
}
