package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.readiness.Readiness;
import io.wiremesh.testing.Commands;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * NetworkPolicy on the local cluster (2 nodes, Java datapath), beyond what Kubernetes' own tests check: pods meet
 * their policies from their first packet, plaintext with a pod's address injected on the underlay is never delivered,
 * drops are counted on the node-daemon's metrics, and a node-daemon restart leaves the rules in force.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetworkPolicyIT {
    private static final Pattern RECEIVED = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    private static LocalCluster cluster;
    private static Path work;

    @BeforeAll
    static void up() throws Exception {
        cluster = LocalCluster.up(2);
        work = Files.createTempDirectory("wmt-policy");
    }

    @AfterAll
    static void down() throws Exception {
        if (cluster != null) cluster.close();
        if (work != null) Host.sh("rm", "-rf", work.toString());
    }

    private static NetworkPolicy policy(String ns, String name, boolean ingress, boolean egress, boolean allowEgress) {
        var spec = new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicySpecBuilder().withNewPodSelector().endPodSelector();
        List<String> types = new ArrayList<>();
        if (ingress) types.add("Ingress");
        if (egress) types.add("Egress");
        spec.withPolicyTypes(types);
        if (allowEgress) spec.addNewEgress().endEgress(); // one empty rule: every destination
        return new NetworkPolicyBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata().withSpec(spec.build()).build();
    }

    private static Pod prober(String ns, String name, String node, String target) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(ns).withLabels(Map.of("app", "prober")).endMetadata()
                .withNewSpec().withNodeSelector(Map.of("kubernetes.io/hostname", node)).withAutomountServiceAccountToken(false)
                .withRestartPolicy("Never").withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("probe").withImage("localhost/wiremesh/testpod:1").withImagePullPolicy("Never")
                // The container's first instruction: pings from the moment the pod has its network.
                .withCommand("/bin/sh", "-c", "ping -c 10 -i 0.2 -W 1 " + target + "; true").endContainer().endSpec().build();
    }

    /** [transmitted, received] of the prober's ping. */
    private static int[] pings(String ns, String pod) {
        String log = cluster.client.pods().inNamespace(ns).withName(pod).getLog();
        Matcher m = RECEIVED.matcher(log);
        assertThat(m.find()).as(ns + "/" + pod + " ran ping:\n" + log).isTrue();
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    @Test
    @Order(1)
    void podsMeetTheirPoliciesFromTheirFirstPacket() throws Exception {
        String target = cluster.podIp("test-n2-1");
        // Both namespaces isolate their pods for egress before any pod exists there; one allows every destination.
        for (String ns : List.of("wmt-np-deny", "wmt-np-allow")) {
            cluster.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        }
        cluster.client.resource(policy("wmt-np-deny", "default-deny-egress", false, true, false)).create();
        cluster.client.resource(policy("wmt-np-allow", "allow-all-egress", false, true, true)).create();
        int perNamespace = 25;
        for (int i = 0; i < perNamespace; i++) {
            String node = i % 2 == 0 ? "wml-n1" : "wml-n2";
            cluster.client.resource(prober("wmt-np-deny", "deny-" + i, node, target)).create();
            cluster.client.resource(prober("wmt-np-allow", "allow-" + i, node, target)).create();
        }
        for (String ns : List.of("wmt-np-deny", "wmt-np-allow")) {
            await().atMost(Liveness.BOUND.multipliedBy(2)).until(() -> cluster.client.pods().inNamespace(ns).list().getItems().stream()
                    .filter(p -> "Succeeded".equals(p.getStatus().getPhase())).count() == perNamespace);
        }
        int firstAnswered = 0;
        for (int i = 0; i < perNamespace; i++) {
            int[] denied = pings("wmt-np-deny", "deny-" + i);
            assertThat(denied[1]).as("wmt-np-deny/deny-%d: replies under default-deny egress (of %d sent)", i, denied[0]).isZero();
            int[] allowed = pings("wmt-np-allow", "allow-" + i);
            assertThat(allowed[1]).as("wmt-np-allow/allow-%d: replies with every destination allowed", i).isPositive();
            if (allowed[1] == allowed[0]) firstAnswered++;
        }
        System.out.printf("policy from the first packet: %d pods under default deny, 0 replies; %d pods allowed, %d of them with every ping answered%n",
                perNamespace, perNamespace, firstAnswered);
        for (String ns : List.of("wmt-np-deny", "wmt-np-allow")) cluster.client.namespaces().withName(ns).delete();
    }

    @Test
    @Order(2)
    void plaintextWithAPodAddressInjectedOnTheUnderlayIsNotDelivered() throws Exception {
        String victim = cluster.podIp("test-n1-1"), forged = cluster.podIp("test-n2-1");
        String veth = Pattern.compile("dev (\\S+)").matcher(cluster.onNodeSh(1, "ip", "route", "get", victim)).results()
                .map(r -> r.group(1)).findFirst().orElseThrow();
        Path atNode = work.resolve("underlay.pcap"), atPod = work.resolve("veth.pcap");
        Process underlay = cluster.capture(1, atNode);
        Process pod = podCapture(veth, atPod);
        // A machine on the underlay (the switch's namespace) sends UDP in clear, claiming to be a pod of node 2.
        Host.sh("ip", "-n", "wml-ul", "route", "replace", victim + "/32", "via", "198.19.0.11");
        try {
            String send = "import socket,struct\n"
                    + "def csum(b):\n s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return ~s&0xffff\n"
                    + "src,dst=socket.inet_aton('" + forged + "'),socket.inet_aton('" + victim + "')\n"
                    + "payload=b'wiremesh-forged'; udp=struct.pack('!HHHH',4444,5201,8+len(payload),0)+payload\n"
                    + "ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),1,0,64,17,0,src,dst)\n"
                    + "ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]\n"
                    + "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n"
                    + "for i in range(20): s.sendto(ip+udp,('" + victim + "',0))\n";
            Commands.sh(List.of("ip", "netns", "exec", "wml-ul", "python3", "-"), send);
        } finally {
            Host.sh("ip", "-n", "wml-ul", "route", "del", victim + "/32");
        }
        List<String> seenAtNode = LocalCluster.packets(underlay, atNode), seenAtPod = LocalCluster.packets(pod, atPod);
        assertThat(seenAtNode).as("the forged packets reached node 1").anyMatch(l -> l.contains(forged + ".4444 > " + victim + ".5201"));
        assertThat(seenAtPod).as("nothing with the forged source reached the pod").noneMatch(l -> l.contains(forged + ".4444"));
    }

    private static Process podCapture(String veth, Path file) throws Exception {
        Path log = file.resolveSibling(file.getFileName() + ".log");
        List<String> cmd = LocalCluster.onNode(1, "tcpdump", "-i", veth, "-n", "-U", "--immediate-mode", "-w", file.toString(), "udp port 5201");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while ((!Files.exists(log) || !Files.readString(log).contains("listening on")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        return p;
    }

    @Test
    @Order(3)
    void aDefaultDenyIsEnforcedCountedAndKeptWhileTheNodeDaemonRestarts() throws Exception {
        String protectedIp = cluster.podIp("test-n1-1");
        cluster.client.resource(policy(LocalCluster.TEST_NS, "default-deny-ingress", true, false, false)).create();
        try {
            await().atMost(Liveness.BOUND).until(() -> !reaches("test-n2-1", protectedIp));
            String metrics = Host.sh(LocalCluster.onNode(1, "curl", "-s", "http://127.0.0.1:9465/metrics").toArray(String[]::new));
            assertThat(metrics).contains("wiremesh_policy_enforcing 1.0");
            assertThat(metrics).containsPattern("wiremesh_policy_denied_packets\\{direction=\"ingress\",namespace=\"wiremesh-test\",pod=\"test-n1-1\",?\\} [1-9]");
            // The node, e.g. its kubelet's probes, still reaches its pods.
            assertThat(Commands.run(LocalCluster.onNode(1, "ping", "-c", "1", "-W", "5", protectedIp), null, null).exit()).isZero();

            Pod daemon = cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS).withLabel("app.kubernetes.io/component", "node").list().getItems()
                    .stream().filter(p -> "wml-n1".equals(p.getSpec().getNodeName())).findFirst().orElseThrow();
            cluster.client.resource(daemon).delete();
            int probes = 0;
            boolean replaced = false;
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while (!replaced && System.nanoTime() < deadline) {
                assertThat(reaches("test-n2-1", protectedIp)).as("reached while the node-daemon restarts (probe %d)", probes).isFalse();
                probes++;
                Pod now = cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS).withLabel("app.kubernetes.io/component", "node").list().getItems()
                        .stream().filter(p -> "wml-n1".equals(p.getSpec().getNodeName()) && p.getMetadata().getDeletionTimestamp() == null).findFirst().orElse(null);
                replaced = now != null && !now.getMetadata().getUid().equals(daemon.getMetadata().getUid()) && Readiness.isPodReady(now);
            }
            assertThat(replaced).as("the node-daemon came back").isTrue();
            assertThat(reaches("test-n2-1", protectedIp)).as("after the restart").isFalse();
            System.out.println("policy across a node-daemon restart: " + probes + " probes, none answered");
        } finally {
            cluster.client.resource(policy(LocalCluster.TEST_NS, "default-deny-ingress", true, false, false)).delete();
        }
        await().atMost(Liveness.BOUND).until(() -> reaches("test-n2-1", protectedIp));
    }

    @Test
    @Order(4)
    void egressToTheApiServerIsDecidedByItsEndpointAfterServiceTranslation() throws Exception {
        String ns = "wmt-np-api";
        cluster.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        try {
            cluster.client.resource(new PodBuilder().withNewMetadata().withName("api-client").withNamespace(ns).endMetadata()
                    .withNewSpec().withAutomountServiceAccountToken(false).withTerminationGracePeriodSeconds(1L)
                    .addNewContainer().withName("c").withImage("localhost/wiremesh/testpod:1").withImagePullPolicy("Never")
                    .withCommand("/bin/sleep", "3600").endContainer().endSpec().build()).create();
            await().atMost(Liveness.BOUND).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(ns).withName("api-client").get()));
            var endpoint = cluster.client.endpoints().inNamespace("default").withName("kubernetes").get().getSubsets().getFirst();
            String apiIp = endpoint.getAddresses().getFirst().getIp();
            int apiPort = endpoint.getPorts().getFirst().getPort();
            String service = cluster.client.services().inNamespace("default").withName("kubernetes").get().getSpec().getClusterIP();
            assertThat(connects(ns, service, 443)).as("the kubernetes Service before any policy").isTrue();
            cluster.client.resource(policy(ns, "default-deny-egress", false, true, false)).create();
            await().atMost(Liveness.BOUND).until(() -> !connects(ns, service, 443));
            // Allowed by the endpoint's address and port (what the packet carries after kube-proxy's DNAT), not the Service's.
            cluster.client.resource(new NetworkPolicyBuilder().withNewMetadata().withNamespace(ns).withName("api-server").endMetadata()
                    .withNewSpec().withNewPodSelector().endPodSelector().withPolicyTypes("Egress")
                    .addNewEgress().addNewTo().withNewIpBlock().withCidr(apiIp + "/32").endIpBlock().endTo()
                    .addNewPort().withProtocol("TCP").withPort(new io.fabric8.kubernetes.api.model.IntOrString(apiPort)).endPort().endEgress()
                    .endSpec().build()).create();
            await().atMost(Liveness.BOUND).until(() -> connects(ns, service, 443));
            assertThat(connects(ns, apiIp, apiPort)).as("the endpoint directly").isTrue();
            assertThat(connects(ns, cluster.podIp("test-n1-1"), 5201)).as("anything else").isFalse();
        } finally {
            cluster.client.namespaces().withName(ns).delete();
        }
    }

    /** Whether a TCP connection from the namespace's api-client pod is accepted (busybox nc: connect, then exit 0). */
    private static boolean connects(String ns, String ip, int port) throws Exception {
        List<String> cmd = List.of(LocalCluster.KUBECTL.toString(), "--kubeconfig", LocalCluster.DIR.resolve("admin.kubeconfig").toString(),
                "-n", ns, "exec", "api-client", "--", "nc", "-w", "3", ip, String.valueOf(port), "-e", "/bin/true");
        return Commands.run(cmd, null, null).exit() == 0;
    }

    private static boolean reaches(String from, String ip) throws Exception {
        return cluster.exec(from, "ping", "-c", "1", "-W", "1", ip).exit() == 0;
    }
}
