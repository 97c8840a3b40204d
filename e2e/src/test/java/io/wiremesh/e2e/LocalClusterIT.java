package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.readiness.Readiness;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The end-to-end suite on a real multi-node Kubernetes: {@code bin/wiremesh-local} (kube-apiserver,
 * controller-manager, scheduler, and per node containerd + kubelet + kube-proxy, each node in its own
 * network namespace) with wiremesh installed by its Helm chart from locally built images. Every
 * check looks from outside: kubectl, {@code wg} on the nodes, tcpdump on the underlay.
 * The tests run in order on one cluster; the last one deletes the mesh.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalClusterIT {
    private static final String OUTSIDE = "198.51.100.2"; // the local cluster's outside world (bin/wiremesh-local)
    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    // Blocking work (kubectl exec, the script) runs here, never on the common pool: with two cores that pool
    // has one thread, and the Kubernetes client completes its requests there.
    private static final ExecutorService BACKGROUND = Executors.newCachedThreadPool();
    private static LocalCluster cluster;
    private static Path work;

    @BeforeAll
    static void up() throws Exception {
        long t0 = System.nanoTime();
        cluster = LocalCluster.up(2);
        System.out.printf("local cluster up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        work = Files.createTempDirectory("wmt-local");
    }

    @AfterAll
    static void down() throws Exception {
        if (cluster != null) cluster.close();
        if (work != null) Host.sh("rm", "-rf", work.toString());
        BACKGROUND.shutdownNow();
    }

    @Test
    @Order(1)
    void podsOnDifferentNodesTalkAndTheUnderlayCarriesOnlyWireGuard() throws Exception {
        String ip2 = cluster.podIp("test-n2-1"), ip1 = cluster.podIp("test-n1-1");
        Path pcap = work.resolve("pods.pcap");
        Process capture = cluster.capture(1, pcap);
        assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "5", "-W", "3", ip2).out())).isEqualTo(new int[] {5, 5});
        assertThat(pings(cluster.exec("test-n2-1", "ping", "-c", "5", "-W", "3", ip1).out())).isEqualTo(new int[] {5, 5});
        Commands.Result tcp = cluster.exec("test-n1-1", "iperf3", "-c", ip2, "-t", "2", "-f", "m");
        assertThat(tcp.exit()).as(tcp.out()).isZero();
        assertThat(tcp.out()).containsPattern("[0-9.]+ Mbits/sec.*receiver");
        List<String> packets = LocalCluster.packets(capture, pcap);

        assertThat(packets).as("the pods' traffic crossed node 1's underlay port").hasSizeGreaterThan(100);
        assertThat(packets).as("every packet between the nodes is WireGuard (UDP 51820 to UDP 51820)")
                .allMatch(l -> l.matches(".* IP 198\\.19\\.0\\.1[12]\\.51820 > 198\\.19\\.0\\.1[12]\\.51820: UDP.*"));
        assertThat(packets).as("no pod address in plain sight").noneMatch(l -> l.contains(ip1) || l.contains(ip2));
    }

    @Test
    @Order(2)
    void podsResolveServicesAndPodsThroughTheClusterDns() throws Exception {
        // The cluster DNS (kube-system/kube-dns at 10.96.0.10, scripts/local/dns.sh) answers the Kubernetes DNS
        // specification's names. busybox's nslookup asks the name as given (no search path for names with a dot);
        // ping resolves through the C library, with the pod's search path and ndots:5, as applications do.
        String ns = "wmt-dns";
        var client = cluster.client;
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        try {
            await().atMost(Duration.ofMinutes(2)).until(() -> client.serviceAccounts().inNamespace(ns).withName("default").get() != null);
            // A ClusterIP Service with a named port (its records need no backend), a headless one with two pods:
            // one with a hostname and the Service as its subdomain, one without.
            Service web = client.resource(new ServiceBuilder().withNewMetadata().withName("web").withNamespace(ns).endMetadata()
                    .withNewSpec().withSelector(Map.of("app", "wmt-dns-web"))
                    .addNewPort().withName("http").withProtocol("TCP").withPort(80).endPort().endSpec().build()).create();
            client.resource(new ServiceBuilder().withNewMetadata().withName("db").withNamespace(ns).endMetadata()
                    .withNewSpec().withClusterIP("None").withSelector(Map.of("app", "wmt-dns-db"))
                    .addNewPort().withName("iperf").withProtocol("TCP").withPort(5201).endPort().endSpec().build()).create();
            for (Pod p : List.of(dnsPod(ns, "db-0", "db-0", "db"), dnsPod(ns, "db-other", null, null))) client.resource(p).create();
            await().atMost(Duration.ofMinutes(2)).until(() -> client.pods().inNamespace(ns).withLabel("app", "wmt-dns-db").list().getItems()
                    .stream().filter(Readiness::isPodReady).count() == 2);
            String webIp = web.getSpec().getClusterIP();
            String db0 = client.pods().inNamespace(ns).withName("db-0").get().getStatus().getPodIP();
            String other = client.pods().inNamespace(ns).withName("db-other").get().getStatus().getPodIP();

            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
                assertThat(cluster.exec("test-n1-1", "ping", "-c", "1", "-W", "1", "kubernetes.default").out())
                        .as("kubernetes.default through the search path").contains("PING kubernetes.default (10.96.0.1)");
                assertThat(addresses(nslookup("kubernetes.default.svc.cluster.local"))).containsExactly("10.96.0.1");
                assertThat(cluster.exec("test-n1-1", "ping", "-c", "1", "-W", "1", "web." + ns).out())
                        .as("a Service of another namespace as <svc>.<ns>").contains("PING web." + ns + " (" + webIp + ")");
                assertThat(addresses(nslookup("db." + ns + ".svc.cluster.local"))).as("a headless Service: its pods")
                        .containsExactlyInAnyOrder(db0, other);
                assertThat(addresses(nslookup("db-0.db." + ns + ".svc.cluster.local"))).as("<hostname>.<subdomain>.<ns>.svc").containsExactly(db0);
                assertThat(nslookup("-type=srv", "_http._tcp.web." + ns + ".svc.cluster.local"))
                        .contains("service = 0 100 80 web." + ns + ".svc.cluster.local");
                assertThat(nslookup(webIp)).as("PTR of the Service IP").contains("name = web." + ns + ".svc.cluster.local");
            });
        } finally {
            client.namespaces().withName(ns).delete();
        }
    }

    /** A sleeping test pod of the headless Service "db", with a hostname and subdomain when given. */
    private static Pod dnsPod(String ns, String name, String hostname, String subdomain) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(ns).withLabels(Map.of("app", "wmt-dns-db")).endMetadata()
                .withNewSpec().withHostname(hostname).withSubdomain(subdomain).withAutomountServiceAccountToken(false)
                .withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("sleep").withImage("localhost/wiremesh/testpod:1").withImagePullPolicy("Never")
                .withCommand("/bin/sleep", "3600").endContainer().endSpec().build();
    }

    /** busybox nslookup in test-n1-1 (through the pod's nameserver, the cluster DNS); its output. */
    private static String nslookup(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("nslookup"));
        cmd.addAll(List.of(args));
        return cluster.exec("test-n1-1", cmd.toArray(String[]::new)).out();
    }

    /** The answer addresses of busybox nslookup's output ("Address: IP" lines; the server's line has a tab and a port). */
    private static List<String> addresses(String nslookupOut) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^Address: ([0-9a-fA-F.:]+)\\s*$").matcher(nslookupOut);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    @Order(11)
    void anOrdinaryPodListsNodesThroughTheKubernetesService() throws Exception {
        // The kubernetes Service (10.96.0.1:443) leads to the API server on the control-plane host, outside the mesh:
        // kube-proxy DNATs, wiremesh masquerades. The pod uses its own ServiceAccount token, as controllers do.
        Commands.Result r = cluster.exec("test-n1-1", "sh", "-c", "d=/var/run/secrets/kubernetes.io/serviceaccount; curl -sS --max-time 10"
                + " --cacert $d/ca.crt -H \"Authorization: Bearer $(cat $d/token)\" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/nodes");
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).contains("\"kind\": \"NodeList\"", "\"name\": \"wml-n1\"", "\"name\": \"wml-n2\"");
    }

    @Test
    @Order(12)
    void podsReachTheOutsideAsTheirNode() throws Exception {
        for (int n = 1; n <= 2; n++) {
            Commands.Result r = cluster.exec("test-n" + n + "-1", "curl", "-sS", "--max-time", "10", "http://" + OUTSIDE + "/");
            assertThat(r.out().strip()).as("what the outside server saw").isEqualTo("wiremesh-outside: client 198.19.0.1" + n);
        }
        assertThat(Files.readString(LocalCluster.DIR.resolve("log/outside-access.log"))).contains(" 198.19.0.11 /", " 198.19.0.12 /");
    }

    @Test
    @Order(13)
    void podsReachNodeAddressesThroughWireGuardWithTheirOwnSource() throws Exception {
        String pod1 = cluster.podIp("test-n1-1");
        // A hostNetwork-style server on node 2's address that answers with the client address it sees.
        Process who = new ProcessBuilder(LocalCluster.onNode(2, "socat", "TCP4-LISTEN:18081,bind=198.19.0.12,fork,reuseaddr",
                "SYSTEM:echo node2 saw $SOCAT_PEERADDR")).redirectErrorStream(true).redirectOutput(work.resolve("who.log").toFile()).start();
        try {
            await().atMost(Liveness.BOUND).until(() -> cluster.onNodeSh(2, "ss", "-ltnH").contains("198.19.0.12:18081"));
            Path pcap = work.resolve("node-address.pcap");
            Process capture = cluster.capture(1, pcap);
            Commands.Result r = cluster.exec("test-n1-1", "curl", "-sS", "--http0.9", "--max-time", "10", "http://198.19.0.12:18081/");
            assertThat(r.out().strip()).as(r.out()).isEqualTo("node2 saw " + pod1);
            // A real hostNetwork pod on node 2 (its node-daemon's status port), and the pod's own node.
            assertThat(cluster.exec("test-n1-1", "curl", "-sS", "--max-time", "10", "http://198.19.0.12:9465/healthz").out()).contains("ok");
            assertThat(cluster.exec("test-n1-1", "curl", "-sS", "--max-time", "10", "http://198.19.0.11:9465/healthz").out()).contains("ok");
            List<String> packets = LocalCluster.packets(capture, pcap);
            assertThat(packets).as("the requests crossed node 1's underlay port").isNotEmpty();
            assertThat(packets).as("only WireGuard between the nodes").allMatch(l -> l.matches(".* IP 198\\.19\\.0\\.1[12]\\.51820 > 198\\.19\\.0\\.1[12]\\.51820: UDP.*"));
            // Only the addresses and ports, not the timestamp (".946573" once matched ".9465").
            List<String> flows = packets.stream().map(l -> l.substring(l.indexOf(" IP "))).toList();
            assertThat(flows).noneMatch(l -> l.contains(pod1) || l.contains(".18081 ") || l.contains(".18081:")
                    || l.contains(".9465 ") || l.contains(".9465:"));
        } finally {
            who.destroy();
            who.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(14)
    void aHostPortAnswersAtItsNodeAddress() throws Exception {
        Pod web = new PodBuilder().withNewMetadata().withName("hostport-n1").withNamespace(LocalCluster.TEST_NS).endMetadata()
                .withNewSpec().withNodeSelector(Map.of("kubernetes.io/hostname", "wml-n1")).withAutomountServiceAccountToken(false)
                .withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("web").withImage("localhost/wiremesh/testpod:1").withImagePullPolicy("Never")
                .withCommand("sh", "-c", "mkdir -p /tmp/www && echo hostport-ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www")
                .addNewPort().withContainerPort(8080).withHostPort(18080).withProtocol("TCP").endPort().endContainer().endSpec().build();
        cluster.client.resource(web).create();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("hostport-n1").get()));
            // From the underlay side (the control-plane host, not a mesh node) and from a pod on another node.
            await().atMost(Liveness.BOUND).until(() -> Commands.run(List.of("nsenter", "--net=/run/netns/wml-ul", "curl", "-sS", "--max-time", "5",
                    "http://198.19.0.11:18080/"), null, null).out().contains("hostport-ok"));
            assertThat(cluster.exec("test-n2-1", "curl", "-sS", "--max-time", "10", "http://198.19.0.11:18080/").out()).contains("hostport-ok");
        } finally {
            cluster.client.resource(web).withGracePeriod(0).delete();
        }
    }

    @Test
    @Order(15)
    void aDownloadFromOutsideOutlivesTheNodeDaemonPod() throws Exception {
        String before = cluster.onNodeSh(1, "nft", "-a", "list", "table", "inet", "wiremesh");
        // About 15 s of download at 4 MB/s through node 1's masquerade, while its node-daemon pod is replaced.
        CompletableFuture<Commands.Result> download = inBackground(() -> cluster.exec("test-n1-1", "curl", "-sS", "--max-time", "120", "--limit-rate", "4M",
                "-o", "/dev/null", "-w", "%{size_download} %{http_code}", "http://" + OUTSIDE + "/bytes/60000000"));
        Thread.sleep(2000);
        Pod daemon = systemPod("node", "wml-n1");
        long deleted = System.nanoTime();
        cluster.client.resource(daemon).delete();
        // As in deletingTheNodeDaemonPodLosesNoPing: the 1.20 kubelet and DaemonSet controller take 10 to 40 s.
        awaitNodeDaemonReplaced(daemon, Duration.ofSeconds(90));
        System.out.printf("node-daemon pod on wml-n1 replaced and ready %.1f s after its deletion%n", (System.nanoTime() - deleted) / 1e9);
        Commands.Result r = download.get(150, TimeUnit.SECONDS);
        assertThat(r.out().strip()).as("bytes and HTTP status of the download (curl exited %d)", r.exit()).isEqualTo("60000000 200");
        // The same table object (same handle): the replacement neither flushed nor re-created it.
        assertThat(handle(cluster.onNodeSh(1, "nft", "-a", "list", "table", "inet", "wiremesh"))).isEqualTo(handle(before));
        assertThat(cluster.exec("test-n1-1", "curl", "-sS", "--max-time", "10", "http://" + OUTSIDE + "/").out()).contains("client 198.19.0.11");
    }

    private static String handle(String nftList) {
        Matcher m = Pattern.compile("table inet wiremesh \\{ # handle (\\d+)").matcher(nftList);
        assertThat(m.find()).as(nftList).isTrue();
        return m.group(1);
    }

    @Test
    @Order(16)
    void aMeshEditAppliesOnEveryNode() throws Exception {
        var meshes = cluster.client.resources(WireGuardMesh.class);
        String name = meshes.list().getItems().getFirst().getMetadata().getName();
        String ip2 = cluster.podIp("test-n2-1");
        // Measured from a settled cluster: every node-daemon ready (an earlier step replaces one).
        await().atMost(Duration.ofSeconds(90)).until(() -> cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS)
                .withLabel("app.kubernetes.io/component", "node").list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null && Readiness.isPodReady(p)).count() == 2);
        try {
            editedAndBack(meshes, name, ip2);
        } finally {
            // Whatever happened above, later steps (captures on UDP 51820) need the defaults back.
            meshes.withName(name).edit(m -> {
                m.getSpec().mtu = null;
                m.getSpec().persistentKeepalive = null;
                m.getSpec().listenPort = null;
                return m;
            });
        }
    }

    private static void editedAndBack(MixedOperation<WireGuardMesh, ?, Resource<WireGuardMesh>> meshes, String name, String ip2)
            throws Exception {
        // Pings across nodes at 10/s for the whole edit: the listen port moves under them.
        CompletableFuture<Commands.Result> ping = inBackground(() -> cluster.exec("test-n1-1", "ping", "-c", "150", "-i", "0.1", "-W", "2", ip2));
        Thread.sleep(1000);
        long t0 = System.nanoTime();
        var edited = meshes.withName(name).edit(m -> {
            m.getSpec().mtu = 1380;
            m.getSpec().persistentKeepalive = 25;
            m.getSpec().listenPort = 51821;
            return m;
        });
        long generation = edited.getMetadata().getGeneration();
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(100)).until(() -> {
            for (int n = 1; n <= 2; n++) {
                if (!cluster.onNodeSh(n, "ip", "link", "show", "wiremesh0").contains("mtu 1380")) return false;
                String wg = cluster.onNodeSh(n, "wg", "show", "wiremesh0", "dump");
                if (!wg.contains("\t51821\t") || wg.lines().skip(1).anyMatch(l -> !l.endsWith("\t25") || !l.contains(":51821\t"))) return false;
            }
            return true;
        });
        double applied = (System.nanoTime() - t0) / 1e9;
        await().atMost(Liveness.BOUND).until(() -> {
            var st = meshes.withName(name).get().getStatus();
            return st != null && st.upToDateNodes != null && st.upToDateNodes == 2;
        });
        double reported = (System.nanoTime() - t0) / 1e9;
        int[] sentReceived = pings(ping.get(60, TimeUnit.SECONDS).out());
        System.out.printf("mesh edit (mtu 1380, keepalive 25, listenPort 51821): on every node's wiremesh0 %.1f s after the edit,"
                + " all nodes up to date in the mesh status %.1f s; pings across nodes meanwhile %d/%d answered%n",
                applied, reported, sentReceived[1], sentReceived[0]);
        assertThat(cluster.kubectl("get", "wgmesh", name)).contains("UP-TO-DATE").containsPattern(name + "\\s+True\\s+2\\s+2\\s");
        for (int n = 1; n <= 2; n++) {
            var self = cluster.client.resources(WireGuardNode.class)
                    .withName(WireGuardNode.nameFor(name, "wml-n" + n)).get();
            assertThat(self.getStatus().observedMeshGeneration).isEqualTo(generation);
            assertThat(self.getStatus().endpoints).allMatch(e -> e.endsWith(":51821"));
        }
        // At most a handshake's worth of pings may be lost while the port moves (both sides rebind, then re-learn).
        assertThat(sentReceived[1]).as("pings answered across the listen-port change").isGreaterThanOrEqualTo(sentReceived[0] - 20);
        // A pod created now gets the new MTU.
        cluster.client.resource(testPod("test-mtu", "wml-n1")).create();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS)
                    .withName("test-mtu").get()));
            assertThat(cluster.exec("test-mtu", "cat", "/sys/class/net/eth0/mtu").out().trim()).isEqualTo("1380");
        } finally {
            cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-mtu").delete();
        }

        // And back to the defaults, which later tests (captures on UDP 51820) expect.
        long t1 = System.nanoTime();
        meshes.withName(name).edit(m -> {
            m.getSpec().mtu = null;
            m.getSpec().persistentKeepalive = null;
            m.getSpec().listenPort = null;
            return m;
        });
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(100)).until(() -> {
            for (int n = 1; n <= 2; n++) {
                String wg = cluster.onNodeSh(n, "wg", "show", "wiremesh0", "dump");
                if (!wg.contains("\t51820\t") || wg.lines().skip(1).anyMatch(l -> !l.endsWith("\toff") || !l.contains(":51820\t"))) return false;
                if (cluster.onNodeSh(n, "ip", "link", "show", "wiremesh0").contains("mtu 1380")) return false;
            }
            return true;
        });
        System.out.printf("mesh edit back to the defaults: on every node %.1f s after the edit%n", (System.nanoTime() - t1) / 1e9);
        assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "3", "-W", "3", ip2).out())).isEqualTo(new int[] {3, 3});
    }

    @Test
    @Order(17)
    void cniFilesRemovedFromANodeArePutBackAndNewPodsStartThere() throws Exception {
        String conflist = "/etc/cni/net.d/10-wiremesh.conflist", socket = "/var/run/wiremesh/cni.sock";
        String before = cluster.onNodeSh(1, "cat", conflist);
        // A node clean-up, or another network plugin's installer, removes wiremesh's entry points under the running daemon.
        long t0 = System.nanoTime();
        cluster.onNodeSh(1, "rm", "-f", conflist, socket);
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(100)).until(() -> conflistOn(1)
                && Commands.run(LocalCluster.onNode(1, "test", "-S", socket), null, null).exit() == 0);
        System.out.printf("CNI configuration and socket removed on wml-n1: both back %.1f s later%n", (System.nanoTime() - t0) / 1e9);
        assertThat(cluster.onNodeSh(1, "cat", conflist)).isEqualTo(before);
        cluster.client.resource(testPod("test-cni-back", "wml-n1")).create();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS)
                    .withName("test-cni-back").get()));
            assertThat(pings(cluster.exec("test-cni-back", "ping", "-c", "3", "-W", "3", cluster.podIp("test-n2-1")).out())).isEqualTo(new int[] {3, 3});
        } finally {
            cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-cni-back").withGracePeriod(0).delete();
        }
    }

    @Test
    @Order(18)
    void anUnreadableIpamStateStopsNewPodsOnlyAndSaysWhatToDo() throws Exception {
        String file = "/var/lib/wiremesh/ipam.json";
        String mesh = cluster.client.resources(WireGuardMesh.class).list().getItems().getFirst().getMetadata().getName();
        var member = cluster.client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, "wml-n2"));
        String good = cluster.onNodeSh(2, "cat", file);
        String ip2 = cluster.podIp("test-n2-1");
        // Damaged by something else than the daemon (its writes are atomic): half of it, as a lost end of a write,
        // found by the node-daemon when it starts (a running one holds the state and rewrites the file).
        cluster.onNodeSh(2, "sh", "-c", "head -c " + good.length() / 2 + " " + file + " > " + file + ".torn && mv " + file + ".torn " + file);
        Pod daemon = systemPod("node", "wml-n2");
        cluster.client.resource(daemon).delete();
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                Pod p = systemPod("node", "wml-n2");
                return p != null && !p.getMetadata().getUid().equals(daemon.getMetadata().getUid()) && "Running".equals(p.getStatus().getPhase());
            });
            await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(200)).until(() -> readyReason(member.get()).equals("IpamStateUnreadable"));
            assertThat(readyMessage(member.get())).contains(file).contains("Restore the file");
            // The status may be written before /readyz serves (the daemon just restarted): wait for it to answer.
            await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(500)).until(() -> Commands.run(LocalCluster.onNode(2, "curl", "-s", "-o", "/dev/null",
                    "-w", "%{http_code}", "http://127.0.0.1:9465/readyz"), null, null).out().equals("503"));
            cluster.client.resource(testPod("test-no-ipam", "wml-n2")).create();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> cluster.kubectl("get", "events", "-n", LocalCluster.TEST_NS,
                    "--field-selector", "involvedObject.name=test-no-ipam").contains("cannot read its record of pod addresses"));
            assertThat(cluster.onNodeSh(2, "cat", file)).as("the damaged file is left as it was").isEqualTo(good.substring(0, good.length() / 2));
            // The mesh runs on: the pod that has its address still answers across nodes.
            assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "3", "-W", "3", ip2).out())).isEqualTo(new int[] {3, 3});
        } finally {
            Commands.sh(LocalCluster.onNode(2, "sh", "-c", "cat > " + file + ".restored && mv " + file + ".restored " + file), good);
        }
        try {
            // Restored: no restart needed.
            await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(200)).until(() -> readyReason(member.get()).equals("Configured"));
            await().atMost(Liveness.BOUND).until(() -> Readiness.isPodReady(systemPod("node", "wml-n2")));
            cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-no-ipam").withGracePeriod(0).delete();
            await().atMost(Liveness.BOUND).until(() -> cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-no-ipam").get() == null);
            cluster.client.resource(testPod("test-no-ipam", "wml-n2")).create();
            await().atMost(Duration.ofSeconds(60)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS)
                    .withName("test-no-ipam").get()));
            assertThat(cluster.podIp("test-no-ipam")).isNotEqualTo(ip2);
        } finally {
            cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-no-ipam").withGracePeriod(0).delete();
        }
    }

    private static String readyReason(WireGuardNode w) {
        return w.getStatus().conditions.stream().filter(c -> "Ready".equals(c.getType())).map(c -> c.getReason()).findFirst().orElse("");
    }

    private static String readyMessage(WireGuardNode w) {
        return w.getStatus().conditions.stream().filter(c -> "Ready".equals(c.getType())).map(c -> c.getMessage()).findFirst().orElse("");
    }

    @Test
    @Order(19)
    void aNodeKeyRotationLosesNoPingAndTheUnderlayCarriesOnlyWireGuard() throws Exception {
        String mesh = cluster.client.resources(WireGuardMesh.class).list().getItems().getFirst().getMetadata().getName();
        var member = cluster.client.resources(io.wiremesh.api.v1alpha1.WireGuardNode.class)
                .withName(io.wiremesh.api.v1alpha1.WireGuardNode.nameFor(mesh, "wml-n2"));
        var before = member.get();
        String ip2 = cluster.podIp("test-n2-1");
        Path pcap = work.resolve("rotation.pcap");
        Process capture = cluster.capture(1, pcap);
        CompletableFuture<Commands.Result> ping = inBackground(() -> cluster.exec("test-n1-1", "ping", "-c", "150", "-i", "0.1", "-W", "2", ip2));
        Thread.sleep(2000);
        // What the operator does for spec.keyRotation (and an admin may do by hand): ask node 2 for its next key.
        long next = Math.max(before.getSpec().keyGeneration, before.getStatus().keyGeneration) + 1;
        long t0 = System.nanoTime();
        member.edit(w -> {
            w.getSpec().keyGeneration = next;
            return w;
        });
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(100)).until(() -> {
            var st = member.get().getStatus();
            return st.keyGeneration == next && !st.publicKey.equals(before.getStatus().publicKey)
                    && cluster.onNodeSh(1, "wg", "show", "wiremesh0", "peers").contains(st.publicKey);
        });
        System.out.printf("node 2's new key published and peered on node 1 %.1f s after the generation was raised%n", (System.nanoTime() - t0) / 1e9);
        String pingOut = ping.get(60, TimeUnit.SECONDS).out();
        int[] sentReceived = pings(pingOut);
        List<String> packets = LocalCluster.packets(capture, pcap);
        assertThat(sentReceived).as("pings across the rotation (unanswered icmp_seq %s; raised 2 s after the first)", lost(pingOut))
                .isEqualTo(new int[] {150, 150});
        assertThat(cluster.onNodeSh(1, "wg", "show", "wiremesh0", "peers")).doesNotContain(before.getStatus().publicKey);
        assertThat(packets).as("every packet between the nodes is WireGuard, the new key's handshakes included")
                .isNotEmpty().allMatch(l -> l.matches(".* IP 198\\.19\\.0\\.1[12]\\.51820 > 198\\.19\\.0\\.1[12]\\.51820: UDP.*"));
    }

    /**
     * Root on node 1 (here: node 1's network namespace with the token of node 1's node-daemon pod) rewrites
     * node 2's status: node 1's key without a valid signature, without any, with an identity of its own,
     * and node 2's genuine proposal from before a rotation. Node 1 keeps peering with node 2's real key,
     * pods keep talking through it, node 2's daemon writes its own proposal back each time, and the admin
     * sees why in the events, the operator's metrics and `kubectl get wgnode`.
     */
    @Test
    @Order(21)
    void anotherNodesCredentialsCannotRedirectANodesTraffic() throws Exception {
        String mesh = cluster.client.resources(WireGuardMesh.class).list().getItems().getFirst().getMetadata().getName();
        String n1 = WireGuardNode.nameFor(mesh, "wml-n1"), n2 = WireGuardNode.nameFor(mesh, "wml-n2");
        var member2 = cluster.client.resources(WireGuardNode.class).withName(n2);
        String keyB = member2.get().getSpec().publicKey, keyA = cluster.client.resources(WireGuardNode.class).withName(n1).get().getSpec().publicKey;
        assertThat(cluster.wgPeers(1)).contains(keyB);
        Pod daemon1 = systemPod("node", "wml-n1");
        String token = cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "exec", daemon1.getMetadata().getName(), "-c", "node-daemon", "--",
                "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token").trim();
        // Node 2's genuine proposal as it stands, then a rotation makes it an old one.
        WireGuardNodeStatus genuineOld = member2.get().getStatus();
        long next = Math.max(member2.get().getSpec().keyGeneration, genuineOld.keyGeneration) + 1;
        member2.edit(w -> { w.getSpec().keyGeneration = next; return w; });
        await().atMost(Liveness.BOUND).until(() -> !keyB.equals(member2.get().getSpec().publicKey)
                && cluster.wgPeers(1).contains(member2.get().getSpec().publicKey));
        String keyB2 = member2.get().getSpec().publicKey;
        WireGuardNodeStatus genuine = member2.get().getStatus();

        String ip2 = cluster.podIp("test-n2-1");
        Path pcap = work.resolve("attack.pcap");
        Process capture = cluster.capture(1, pcap);
        long pingStart = System.nanoTime();
        List<String> steps = new java.util.ArrayList<>(); // when each rewrite was made and undone, for a ping lost
        CompletableFuture<Commands.Result> ping = inBackground(() -> cluster.exec("test-n1-1", "ping", "-c", "400", "-i", "0.1", "-W", "2", ip2));
        Thread.sleep(1000);

        // 1. Node 1's key in node 2's status, node 2's signature left as it was.
        steps.add(String.format("BadSignature %.1f s", (System.nanoTime() - pingStart) / 1e9));
        asNode1(token, n2, Map.of("publicKey", keyA));
        refusedThenRestored(n2, "BadSignature", keyB2);
        steps.add(String.format("restored %.1f s", (System.nanoTime() - pingStart) / 1e9));
        // 2. ... and no signature at all.
        Map<String, Object> unsigned = new java.util.HashMap<>(Map.of("publicKey", keyA));
        unsigned.put("proposal", null); // a merge patch's null removes the field
        steps.add(String.format("Unsigned %.1f s", (System.nanoTime() - pingStart) / 1e9));
        asNode1(token, n2, unsigned);
        refusedThenRestored(n2, "Unsigned", keyB2);
        steps.add(String.format("restored %.1f s", (System.nanoTime() - pingStart) / 1e9));
        // 3. ... a key and an identity node 1 made for the purpose: a changed identity, held for an admin.
        java.security.KeyPair forged = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String forgedKey = io.wiremesh.api.identity.Proposal.base64(forged.getPublic());
        String keyX = "UzogCspr5zx0eSGgML6gjxd7mRJ7wqicIXSnZmos5eU="; // the attacker holds its private half
        var p = new io.wiremesh.api.identity.Proposal(n2, "wml-n2", genuine.proposal.generation + 10, forgedKey, keyX,
                genuine.kemPublicKey, genuine.endpoints);
        var sig = java.security.Signature.getInstance("Ed25519");
        sig.initSign(forged.getPrivate());
        sig.update(p.message());
        steps.add(String.format("IdentityChanged %.1f s", (System.nanoTime() - pingStart) / 1e9));
        asNode1(token, n2, Map.of("publicKey", keyX, "identityKey", forgedKey,
                "proposal", Map.of("generation", p.generation(), "signature", java.util.Base64.getEncoder().encodeToString(sig.sign()))));
        refusedThenRestored(n2, "IdentityChanged", keyB2);
        steps.add(String.format("restored %.1f s", (System.nanoTime() - pingStart) / 1e9));
        // 4. Node 2's own proposal from before the rotation, replayed.
        steps.add(String.format("Replayed %.1f s", (System.nanoTime() - pingStart) / 1e9));
        asNode1(token, n2, Map.of("publicKey", genuineOld.publicKey, "kemPublicKey", genuineOld.kemPublicKey, "endpoints", genuineOld.endpoints,
                "identityKey", genuineOld.identityKey, "proposal", Map.of("generation", genuineOld.proposal.generation, "signature", genuineOld.proposal.signature)));
        refusedThenRestored(n2, "Replayed", keyB2);
        steps.add(String.format("restored %.1f s", (System.nanoTime() - pingStart) / 1e9));

        String pingOut = ping.get(60, TimeUnit.SECONDS).out();
        int[] sentReceived = pings(pingOut);
        System.out.printf("pings to node 2's pod while its status was rewritten: %d/%d answered, unanswered seq %s; %s%n",
                sentReceived[1], sentReceived[0], lost(pingOut), steps);
        List<String> packets = LocalCluster.packets(capture, pcap);
        if (sentReceived[1] != sentReceived[0]) {
            System.out.println("underlay packets other than 128-byte data:\n" + String.join("\n", packets.stream().filter(l -> !l.endsWith("length 128")).toList()));
            for (int n = 1; n <= 2; n++) {
                System.out.println("wg on wml-n" + n + ":\n" + cluster.onNodeSh(n, "wg", "show", "wiremesh0", "dump"));
                System.out.println("datapath drops on wml-n" + n + ":\n" + String.join("\n", Commands.run(LocalCluster.onNode(n, "curl", "-sS",
                        "http://127.0.0.1:9467/metrics"), null, null).out().lines().filter(l -> l.startsWith("wiremesh_wg_dropped") && !l.endsWith(" 0.0")).toList()));
            }
            System.out.println("operator log:\n" + cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", "--timestamps",
                    systemPod("operator", null).getMetadata().getName(), "--since=2m"));
            for (String node : List.of("wml-n1", "wml-n2")) {
                System.out.println("node-daemon log on " + node + ":\n" + cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", "--timestamps",
                        systemPod("node", node).getMetadata().getName(), "-c", "node-daemon", "--since=2m"));
                Pod datapath = systemPod("datapath", node);
                if (datapath != null) {
                    System.out.println("datapath log on " + node + ":\n" + cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", "--timestamps",
                            datapath.getMetadata().getName(), "--since=2m"));
                }
            }
            System.out.println("test started (node time) " + Instant.now().minusNanos(System.nanoTime() - pingStart));
        }
        assertThat(sentReceived).as("pings to node 2's pod while its status was rewritten (unanswered icmp_seq %s; %s)", lost(pingOut), steps)
                .isEqualTo(new int[] {400, 400});
        assertThat(cluster.wgPeers(1)).as("node 1 peers with node 2's real key only").containsExactly(keyB2);
        assertThat(packets).as("the underlay carries only WireGuard").isNotEmpty()
                .allMatch(l -> l.matches(".* IP 198\\.19\\.0\\.1[12]\\.51820 > 198\\.19\\.0\\.1[12]\\.51820: UDP.*"));
        // What the admin sees.
        String table = cluster.kubectl("get", "wgnode", n2);
        System.out.println(table);
        assertThat(table).contains("PROPOSAL").contains("Accepted").contains(keyB2); // node 2 wrote its own proposal back each time
        assertThat(cluster.kubectl("get", "events", "-n", "default", "--field-selector", "involvedObject.name=" + n2))
                .contains("ProposalRefused").contains("BadSignature").contains("Unsigned").contains("IdentityChanged").contains("Replayed");
        Pod operator = systemPod("operator", null);
        String metrics = cluster.onNodeSh(nodeIndex(operator), "curl", "-sS", "http://127.0.0.1:9466/q/metrics");
        for (String reason : List.of("BadSignature", "Unsigned", "IdentityChanged", "Replayed")) {
            assertThat(metrics).containsPattern("wiremesh_operator_proposals_total\\{[^}]*reason=\"" + reason + "\"[^}]*verdict=\"refused\"[^}]*} [1-9]");
        }
        assertThat(cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", systemPod("node", "wml-n2").getMetadata().getName(), "-c", "node-daemon"))
                .contains("this node's status no longer holds its own proposal");
    }

    /**
     * Node 2's disk is wiped (keys and identity) and its node-daemon restarted: its new identity is held
     * (node 1 keeps the old key, so node 2's pods are unreachable, and nothing goes anywhere new) until
     * the admin approves the fingerprint the node-daemon logs, with the CLI; traffic resumes (how soon: printed).
     */
    @Test
    @Order(22)
    void aWipedNodeIsHeldUntilItsFingerprintIsApproved() throws Exception {
        String mesh = cluster.client.resources(WireGuardMesh.class).list().getItems().getFirst().getMetadata().getName();
        String n2 = WireGuardNode.nameFor(mesh, "wml-n2");
        var member2 = cluster.client.resources(WireGuardNode.class).withName(n2);
        String keyB = member2.get().getSpec().publicKey, fingerprintB = member2.get().getSpec().identity.fingerprint;
        Pod daemon = systemPod("node", "wml-n2");
        cluster.onNodeSh(2, "sh", "-c", "rm -rf /var/lib/wiremesh/private.key /var/lib/wiremesh/key.generation /var/lib/wiremesh/identity.key"
                + " /var/lib/wiremesh/proposal.generation /var/lib/wiremesh/kem.key /var/lib/wiremesh/psk");
        cluster.client.resource(daemon).delete();
        awaitNodeDaemonReplaced(daemon, Duration.ofSeconds(90)); // 10 to 40 s on the 1.20 kubelet, as in the other steps
        Pod replaced = systemPod("node", "wml-n2");
        String log = cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", replaced.getMetadata().getName(), "-c", "node-daemon");
        Matcher m = Pattern.compile("identity (SHA256:[A-Za-z0-9+/]{43})").matcher(log);
        assertThat(m.find()).as(log).isTrue();
        String fingerprint = m.group(1);
        assertThat(fingerprint).isNotEqualTo(fingerprintB);
        await().atMost(Liveness.BOUND).until(() -> cluster.kubectl("get", "wgnode", n2).contains("IdentityChanged"));
        assertThat(member2.get().getSpec().publicKey).as("held: the accepted key stays").isEqualTo(keyB);
        assertThat(cluster.wgPeers(1)).containsExactly(keyB);
        String ip2 = cluster.podIp("test-n2-1");
        assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "2", "-W", "1", ip2).out())[1]).as("node 2's pods unreachable while held").isZero();
        String condition = member2.get().getStatus().conditions.stream().filter(c -> "Degraded".equals(c.getType())).findFirst().orElseThrow().getMessage();
        assertThat(condition).contains("only if it is " + fingerprint + ", run wiremesh node approve wml-n2 FINGERPRINT");

        long t0 = System.nanoTime();
        Commands.Result approve = Commands.run(List.of(Host.ROOT.resolve("bin/wiremesh").toString(), "node", "approve", "wml-n2", fingerprint,
                "--mesh", mesh, "--kubeconfig", LocalCluster.DIR.resolve("admin.kubeconfig").toString()), null, null);
        assertThat(approve.exit()).as(approve.out()).isZero();
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> pings(cluster.exec("test-n1-1", "ping", "-c", "1", "-W", "1", ip2).out())[1] == 1);
        System.out.printf("wiped node 2 approved; its pod answers %.1f s after `wiremesh node approve`%n", (System.nanoTime() - t0) / 1e9);
        assertThat(member2.get().getSpec().identity.fingerprint).isEqualTo(fingerprint);
        assertThat(cluster.wgPeers(1)).doesNotContain(keyB).contains(member2.get().getSpec().publicKey);
    }

    /** Merge-patches {@code member}'s status from node 1's network namespace with node 1's node-daemon token. */
    private static void asNode1(String token, String member, Map<String, Object> status) throws Exception {
        String body = io.fabric8.kubernetes.client.utils.Serialization.asJson(Map.of("status", status));
        Commands.Result r = Commands.run(LocalCluster.onNode(1, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                LocalCluster.DIR.resolve("pki/ca.crt").toString(), "-H", "Authorization: Bearer " + token, "-H", "Content-Type: application/merge-patch+json",
                "-X", "PATCH", "--data", body, "https://198.19.0.1:6443/apis/wiremesh.io/v1alpha1/wireguardnodes/" + member + "/status"), null, null);
        assertThat(r.out().trim()).as("the node ServiceAccount may write any WireGuardNode's status (1.20 cannot tell nodes apart)").isEqualTo("200");
    }

    /** Waits for {@code member}'s Degraded reason, and checks the accepted key stayed and node 1 still peers with it. */
    /**
     * Waits for the operator's Warning Event refusing {@code member}'s rewritten status for {@code reason}, checks that the
     * accepted key stayed and node 1 still peers with it, then waits until the node's own daemon has written its proposal
     * back (its status holds {@code key} again and the Degraded condition is cleared).
     */
    private static void refusedThenRestored(String member, String reason, String key) throws Exception {
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(200)).until(() -> cluster.client.v1().events().inNamespace("default")
                .list().getItems().stream().anyMatch(e -> member.equals(e.getInvolvedObject().getName()) && "ProposalRefused".equals(e.getReason())
                        && e.getMessage().startsWith(reason + ":")));
        assertThat(cluster.client.resources(WireGuardNode.class).withName(member).get().getSpec().publicKey).isEqualTo(key);
        assertThat(cluster.wgPeers(1)).containsExactly(key);
        await().atMost(Liveness.BOUND).pollInterval(Duration.ofMillis(200)).until(() -> {
            var st = cluster.client.resources(WireGuardNode.class).withName(member).get().getStatus();
            return key.equals(st.publicKey) && st.conditions.stream().noneMatch(c -> "Degraded".equals(c.getType()) && "True".equals(c.getStatus()));
        });
    }

    private static int nodeIndex(Pod p) {
        return Integer.parseInt(p.getSpec().getNodeName().substring("wml-n".length()));
    }

    @Test
    @Order(20)
    void deletingTheNodeDaemonPodLosesNoPing() throws Exception {
        String ip2 = cluster.podIp("test-n2-1");
        Pod daemon = systemPod("node", "wml-n2");
        // Pings at 10/s across nodes, in 5 s batches, from before the node-daemon pod is deleted until a whole batch
        // has run after its replacement was ready: the replacement takes 10 to 40 s here (the 1.20 kubelet deletes a
        // stopped pod on its next 10 s status sync, and only then does the DaemonSet controller make the new one).
        AtomicLong replacedAt = new AtomicLong();
        List<String> incomplete = new java.util.concurrent.CopyOnWriteArrayList<>(); // batches without 50 pings sent
        CompletableFuture<int[]> ping = inBackground(() -> {
            int[] total = {0, 0}; // sent, received
            long batchStart;
            do {
                batchStart = System.nanoTime();
                String out = cluster.exec("test-n1-1", "ping", "-c", "50", "-i", "0.1", "-W", "2", ip2).out();
                int[] batch = pings(out);
                if (batch[0] != 50) incomplete.add(out);
                total[0] += batch[0];
                total[1] += batch[1];
            } while (replacedAt.get() == 0 || batchStart < replacedAt.get());
            return total;
        });
        Thread.sleep(2000);
        long deleted = System.nanoTime();
        try {
            cluster.client.resource(daemon).delete();
            awaitNodeDaemonReplaced(daemon, Duration.ofSeconds(90));
        } finally {
            replacedAt.set(System.nanoTime());
        }
        System.out.printf("node-daemon pod on wml-n2 replaced and ready %.1f s after its deletion%n", (replacedAt.get() - deleted) / 1e9);
        int[] sentReceived = ping.get(60, TimeUnit.SECONDS);
        System.out.printf("%d/%d pings answered from 2 s before the deletion to at least 5 s after the replacement was ready%n",
                sentReceived[1], sentReceived[0]);
        assertThat(incomplete).as("ping batches that did not send their 50 pings").isEmpty();
        assertThat(sentReceived[0]).as("pings sent").isGreaterThanOrEqualTo(100);
        assertThat(sentReceived[1]).as("pings answered while the node-daemon pod was replaced").isEqualTo(sentReceived[0]);
    }

    /**
     * A helm upgrade that changes every workload (as an image bump does: here the pull policy) and the upgrade back:
     * pings at 10/s both ways between the nodes lose nothing, a TCP stream through the whole of it keeps its
     * connection and carries data every second, no pod-addressed packet crosses the underlay, and each node's new
     * datapath took the interface and its sessions over from the old one.
     */
    @Test
    @Order(25)
    void aHelmUpgradeOfEveryWorkloadAndBackLosesNoPacket() throws Exception {
        String ip1 = cluster.podIp("test-n1-1"), ip2 = cluster.podIp("test-n2-1");
        for (String[] values : List.of(new String[] {"image.pullPolicy=IfNotPresent"}, new String[0])) {
            String before = datapathSet();
            Path pcap = work.resolve("upgrade-" + values.length + ".pcap");
            Process capture = cluster.captureSwitch(pcap, "net 10.42.0.0/16");
            AtomicBoolean upgraded = new AtomicBoolean();
            List<String> incomplete = new java.util.concurrent.CopyOnWriteArrayList<>();
            Callable<int[]> pinging = () -> {
                int[] total = {0, 0};
                boolean last;
                do {
                    last = upgraded.get(); // one whole batch after the upgrade finished
                    String out = cluster.exec("test-n1-1", "ping", "-c", "50", "-i", "0.1", "-W", "2", ip2).out();
                    int[] batch = pings(out);
                    if (batch[0] != 50 || batch[1] != 50) incomplete.add(out);
                    total[0] += batch[0];
                    total[1] += batch[1];
                } while (!last);
                return total;
            };
            CompletableFuture<int[]> forth = inBackground(pinging);
            CompletableFuture<int[]> back = inBackground(() -> {
                int[] total = {0, 0};
                boolean last;
                do {
                    last = upgraded.get();
                    int[] batch = pings(cluster.exec("test-n2-1", "ping", "-c", "50", "-i", "0.1", "-W", "2", ip1).out());
                    total[0] += batch[0];
                    total[1] += batch[1];
                } while (!last);
                return total;
            });
            CompletableFuture<Commands.Result> stream = inBackground(() -> cluster.exec("test-n1-1", "iperf3", "-c", ip2, "-t", "60", "-b", "20M", "-i", "1"));
            Thread.sleep(2000);
            long t0 = System.nanoTime();
            try {
                LocalCluster.script(java.util.stream.Stream.concat(java.util.stream.Stream.of("upgrade"), java.util.Arrays.stream(values)).toArray(String[]::new));
            } finally {
                upgraded.set(true);
            }
            System.out.printf("upgrade %s done in %.1f s%n", values.length == 0 ? "back" : String.join(" ", values), (System.nanoTime() - t0) / 1e9);
            int[] f = forth.get(120, TimeUnit.SECONDS), b = back.get(120, TimeUnit.SECONDS);
            Commands.Result iperf = stream.get(120, TimeUnit.SECONDS);
            List<String> leaked = LocalCluster.packets(capture, pcap);
            System.out.printf("pings answered: n1->n2 %d/%d, n2->n1 %d/%d%n", f[1], f[0], b[1], b[0]);
            assertThat(datapathSet()).as("the datapath DaemonSet was replaced (a new pod template)").isNotEqualTo(before);
            assertThat(incomplete).as("ping batches n1->n2 with a loss").isEmpty();
            assertThat(f[1]).as("pings n1->n2 answered").isEqualTo(f[0]).isGreaterThanOrEqualTo(100);
            assertThat(b[1]).as("pings n2->n1 answered").isEqualTo(b[0]).isGreaterThanOrEqualTo(100);
            assertThat(iperf.exit()).as("the TCP stream kept its connection: %s", iperf.out()).isZero();
            // Every one-second interval carried data (iperf3 prints "0.00 bits/sec" for an interval without).
            assertThat(iperf.out().lines().filter(l -> l.matches(".*\\d+\\.\\d+-\\d+\\.\\d+\\s+sec.*")).toList())
                    .as("stream intervals").hasSizeGreaterThanOrEqualTo(60).noneMatch(l -> l.contains(" 0.00 bits/sec"));
            assertThat(leaked).as("pod packets on the underlay during the upgrade").isEmpty();
            for (String node : List.of("wml-n1", "wml-n2")) {
                Pod datapath = systemPod("datapath", node);
                assertThat(cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "logs", datapath.getMetadata().getName()))
                        .as("%s's new datapath", node).contains("taken over with its sessions");
            }
        }
    }

    /** The name of the datapath DaemonSet in place (one per pod template). */
    private static String datapathSet() {
        return cluster.client.apps().daemonSets().inNamespace(LocalCluster.SYSTEM_NS).withLabel("app.kubernetes.io/component", "datapath")
                .list().getItems().stream().filter(d -> d.getMetadata().getDeletionTimestamp() == null)
                .map(d -> d.getMetadata().getName()).findFirst().orElse("");
    }

    @Test
    @Order(30)
    void restartingTheOperatorMovesNoAllocation() throws Exception {
        Map<String, String> before = allocations();
        Pod operator = cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS).withLabel("app.kubernetes.io/component", "operator").list().getItems().getFirst();
        cluster.client.resource(operator).delete();
        await().atMost(Duration.ofSeconds(90)).until(() -> cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS)
                .withLabel("app.kubernetes.io/component", "operator").list().getItems().stream()
                .anyMatch(p -> !p.getMetadata().getUid().equals(operator.getMetadata().getUid()) && Readiness.isPodReady(p)));
        // Give the new operator a few reconcile passes (it re-reads every allocation from the API).
        Thread.sleep(5000);
        assertThat(allocations()).isEqualTo(before);
        assertThat(cluster.client.resources(WireGuardMesh.class).withName("default").get().getStatus().conditions)
                .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
    }

    @Test
    @Order(40)
    void aNewNodeGetsABlockAndPeers() throws Exception {
        CompletableFuture<String> adding = inBackground(() -> LocalCluster.script("add-node", "3"));
        // Watch the nodes' WireGuard interfaces with `wg` alone (no API client in the loop): done when nodes 1
        // and 2 each have a second peer and node 3 has both.
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.wgPeers(1).size() == 2 && cluster.wgPeers(2).size() == 2 && cluster.wgPeers(3).size() == 2);
        Instant done = Instant.now();
        // From the Node object's creation (the API server runs on this machine's clock; whole seconds, so this errs long).
        Instant registered = Instant.parse(cluster.client.nodes().withName("wml-n3").get().getMetadata().getCreationTimestamp());
        WireGuardNode w = cluster.client.resources(WireGuardNode.class).withName("default.wml-n3").get();
        assertThat(w.getSpec().podCIDRs).hasSize(1);
        assertThat(cluster.wgPeers(1)).contains(w.getStatus().publicKey);
        assertThat(cluster.wgPeers(2)).contains(w.getStatus().publicKey);
        double seconds = Duration.between(registered, done).toMillis() / 1e3;
        System.out.printf("node wml-n3: block and peers on every node %.1f s after it registered%n", seconds);
        adding.get(3, TimeUnit.MINUTES);

        // And its pods are reachable through the tunnel.
        cluster.client.resource(testPod("test-n3-1", "wml-n3")).create();
        await().atMost(Duration.ofSeconds(60)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("test-n3-1").get()));
        assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "3", "-W", "3", cluster.podIp("test-n3-1")).out())).isEqualTo(new int[] {3, 3});
    }

    @Test
    @Order(50)
    void aRemovedNodeIsDroppedFromEveryPeerSet() throws Exception {
        String key = cluster.client.resources(WireGuardNode.class).withName("default.wml-n3").get().getStatus().publicKey;
        LocalCluster.script("remove-node", "3");
        long removed = System.nanoTime();
        // The operator keeps a departed node's block for its grace period (20 s here), then releases it.
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .until(() -> !cluster.wgPeers(1).contains(key) && !cluster.wgPeers(2).contains(key));
        System.out.printf("node wml-n3 dropped from every peer set %.1f s after removal%n", (System.nanoTime() - removed) / 1e9);
        assertThat(cluster.client.resources(WireGuardNode.class).withName("default.wml-n3").get()).isNull();
    }

    @Test
    @Order(55)
    void aNodeWhoseDatapathIsLateSendsNothingInClear() throws Exception {
        // The datapath DaemonSet only on labelled nodes: node 3 joins without one (an image slow to pull, a crash loop).
        cluster.kubectl("label", "node", "wml-n1", "wml-n2", "wiremesh-datapath=yes", "--overwrite");
        LocalCluster.script("upgrade", "datapath.nodeSelector.wiremesh-datapath=yes");
        String ip1 = cluster.podIp("test-n1-1");
        // Every pod-addressed packet on the underlay switch, from before node 3 exists.
        Path pcap = work.resolve("late-datapath.pcap");
        Process capture = cluster.captureSwitch(pcap, "net 10.42.0.0/16");
        try {
            cluster.client.resource(new PodBuilder(testPod("late-n3", "wml-n3")).editSpec().editFirstContainer()
                    .withCommand("ping", "-i", "0.2", ip1).endContainer().endSpec().build()).create();
            LocalCluster.script("add-node", "3");
            await().atMost(Duration.ofSeconds(90)).until(() -> Readiness.isPodReady(cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("late-n3").get()));
            WireGuardNode w3 = cluster.client.resources(WireGuardNode.class).withName("default.wml-n3").get();
            assertThat(w3.getStatus().conditions).anyMatch(c -> "WaitingForDatapath".equals(c.getReason()));
            assertThat(cluster.onNodeSh(3, "ip", "route", "show", "type", "unreachable")).contains("10.42.0.0/16");
            Thread.sleep(8000); // the pod pings all along
            List<String> leaked = LocalCluster.packets(capture, pcap);
            assertThat(leaked).as("pod packets in clear while node 3 had no datapath").isEmpty();
            capture = cluster.captureSwitch(pcap, "net 10.42.0.0/16");

            // The datapath arrives: the same pod's pings flow, encrypted.
            cluster.kubectl("label", "node", "wml-n3", "wiremesh-datapath=yes", "--overwrite");
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> pings(cluster.exec("late-n3", "ping", "-c", "1", "-W", "1", ip1).out())[1] == 1);
            assertThat(LocalCluster.packets(capture, pcap)).as("pod packets in clear once the datapath came").isEmpty();
        } finally {
            capture.destroy();
            cluster.client.pods().inNamespace(LocalCluster.TEST_NS).withName("late-n3").withGracePeriod(0).delete();
        }
    }

    @Test
    @Order(60)
    void stoppingADatapathFailsClosed() throws Exception {
        String ip1 = cluster.podIp("test-n1-1"), ip2 = cluster.podIp("test-n2-1");
        Path pcap = work.resolve("fail-closed.pcap");
        Process capture = cluster.capture(2, pcap);
        CompletableFuture<Commands.Result> ping = inBackground(() -> cluster.exec("test-n2-1", "ping", "-c", "40", "-i", "0.2", "-W", "1", ip1));
        Thread.sleep(1500);
        // Kill node 2's datapath (the wiremesh-wg process in its namespace): its interface disappears.
        String pid = Host.sh("sh", "-c", "for p in $(pgrep -f wiremesh-wireguard.jar); do [ \"$(stat -L -c %i /proc/$p/ns/net)\" = "
                + "\"$(stat -L -c %i /run/netns/wml-n2)\" ] && echo $p; done; true").trim();
        assertThat(pid).as("node 2's datapath process").matches("\\d+");
        Host.sh("kill", "-9", pid);
        int[] sentReceived = pings(ping.get(60, TimeUnit.SECONDS).out());
        List<String> packets = LocalCluster.packets(capture, pcap);
        assertThat(sentReceived[1]).as("some pings were lost while the datapath was down").isLessThan(sentReceived[0]);
        assertThat(packets).as("no pod packet on the underlay while the datapath was down").noneMatch(l -> l.contains(ip1) || l.contains(ip2));

        // The DaemonSet restarts it and the node-daemon configures the new interface.
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .until(() -> pings(cluster.exec("test-n2-1", "ping", "-c", "1", "-W", "1", ip1).out())[1] == 1);
    }

    @Test
    @Order(65)
    void deletingTheNodeDaemonSetUninstallsAndReinstallingRestores() throws Exception {
        String ip2 = cluster.podIp("test-n2-1");
        for (int n = 1; n <= 2; n++) {
            assertThat(conflistOn(n)).isTrue();
            assertThat(cluster.onNodeSh(n, "nft", "list", "tables")).contains("wiremesh");
            assertThat(cluster.onNodeSh(n, "ip", "rule", "show")).contains("lookup 51820");
        }
        // What `helm uninstall` does to it: each stopping node-daemon sees its DaemonSet gone and uninstalls.
        long t0 = System.nanoTime();
        cluster.kubectl("-n", LocalCluster.SYSTEM_NS, "delete", "daemonset", "wiremesh-node");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
            for (int n = 1; n <= 2; n++) {
                if (conflistOn(n) || cluster.onNodeSh(n, "nft", "list", "tables").contains("wiremesh")
                        || cluster.onNodeSh(n, "ip", "rule", "show").contains("51820")) return false;
            }
            return true;
        });
        System.out.printf("CNI configuration, masquerade table and policy rules gone from both nodes %.1f s after the DaemonSet's deletion%n",
                (System.nanoTime() - t0) / 1e9);
        for (int n = 1; n <= 2; n++) {
            assertThat(cluster.onNodeSh(n, "iptables-save", "-t", "nat")).contains(":KUBE-SERVICES");
        }

        // Installed again, the chart brings it all back.
        LocalCluster.script("upgrade", "datapath.nodeSelector.wiremesh-datapath=yes"); // as the earlier step left it
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() -> conflistOn(1) && conflistOn(2)
                && pings(cluster.exec("test-n1-1", "ping", "-c", "1", "-W", "1", ip2).out())[1] == 1);
        assertThat(cluster.onNodeSh(1, "nft", "list", "tables")).contains("wiremesh");
    }

    private static boolean conflistOn(int node) throws Exception {
        return Commands.run(LocalCluster.onNode(node, "test", "-e", "/etc/cni/net.d/10-wiremesh.conflist"), null, null).exit() == 0;
    }

    @Test
    @Order(70)
    void deletingTheMeshRemovesWiremeshState() throws Exception {
        String ip2 = cluster.podIp("test-n2-1");
        cluster.client.resources(WireGuardMesh.class).withName("default").delete();
        // The garbage collector removes the WireGuardNodes; every node-daemon then drops its peers and routes.
        await().atMost(Duration.ofSeconds(60)).until(() -> cluster.client.resources(WireGuardNode.class).list().getItems().isEmpty());
        await().atMost(Liveness.BOUND).until(() -> cluster.wgPeers(1).isEmpty() && cluster.wgPeers(2).isEmpty());
        for (int n = 1; n <= 2; n++) {
            String routes = cluster.onNodeSh(n, "ip", "route", "show", "dev", "wiremesh0");
            assertThat(routes).as("routes through node %d's tunnel", n).doesNotContain("10.42.");
        }
        // The nodes stop offering the pod network (no conflist), and their daemons wait for a new membership.
        await().atMost(Liveness.BOUND).until(() -> !conflistOn(1) && !conflistOn(2));
        // Every node-daemon exited (its container restarted) to wait for a new membership.
        await().atMost(Duration.ofSeconds(60)).until(() -> cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS)
                .withLabel("app.kubernetes.io/component", "node").list().getItems().stream()
                .allMatch(p -> p.getStatus().getContainerStatuses().stream().allMatch(c -> c.getRestartCount() > 0)));
        // wiremesh's masquerade table and policy routes are gone (its NetworkPolicy table stays: the pods still here stay
        // isolated as last decided); kube-proxy's rules are untouched.
        for (int n = 1; n <= 2; n++) {
            assertThat(cluster.onNodeSh(n, "nft", "list", "tables")).doesNotContainPattern("(?m)^table inet wiremesh$")
                    .contains("table inet wiremesh-policy");
            assertThat(cluster.onNodeSh(n, "ip", "rule", "show")).doesNotContain("51820");
            assertThat(cluster.onNodeSh(n, "iptables-save", "-t", "nat")).contains(":KUBE-SERVICES", "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
        }
        // No stale route leads pod traffic anywhere: not through the tunnel, and not in plaintext.
        assertThat(pings(cluster.exec("test-n1-1", "ping", "-c", "2", "-W", "1", ip2).out())[1]).isZero();
    }

    private static <T> CompletableFuture<T> inBackground(Callable<T> task) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return task.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, BACKGROUND);
    }

    private static Pod testPod(String name, String node) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(LocalCluster.TEST_NS)
                .withLabels(Map.of("app.kubernetes.io/name", "wiremesh-test")).endMetadata()
                .withNewSpec().withNodeSelector(Map.of("kubernetes.io/hostname", node)).withAutomountServiceAccountToken(false)
                .withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("iperf").withImage("localhost/wiremesh/testpod:1").withImagePullPolicy("Never")
                .withCommand("/usr/bin/iperf3", "-s").endContainer().endSpec().build();
    }

    /** Waits until the DaemonSet has replaced node-daemon pod {@code daemon} with one that is ready. */
    private static void awaitNodeDaemonReplaced(Pod daemon, Duration atMost) {
        await().atMost(atMost).until(() -> {
            Pod p = systemPod("node", daemon.getSpec().getNodeName());
            return p != null && !p.getMetadata().getUid().equals(daemon.getMetadata().getUid()) && Readiness.isPodReady(p);
        });
    }

    private static Pod systemPod(String component, String node) {
        return cluster.client.pods().inNamespace(LocalCluster.SYSTEM_NS).withLabel("app.kubernetes.io/component", component).list().getItems()
                .stream().filter(p -> (node == null || node.equals(p.getSpec().getNodeName())) && p.getMetadata().getDeletionTimestamp() == null)
                .findFirst().orElse(null);
    }

    /** Node name -> its blocks and overlay addresses. */
    private static Map<String, String> allocations() {
        Map<String, String> m = new TreeMap<>();
        for (WireGuardNode w : cluster.client.resources(WireGuardNode.class).list().getItems()) {
            m.put(w.getMetadata().getName(), w.getSpec().podCIDRs + " " + w.getSpec().overlayAddresses + " " + w.getMetadata().getUid());
        }
        return m;
    }

    /** {sent, received} from busybox ping's summary. */
    /**
     * The sequence numbers a ping run (its output: the test pods' busybox ping counts seq=0, 1, ...) got no
     * answer for, as ranges, e.g. "[120-144]": with -i 0.1, seq/10 s after its start.
     */
    private static List<String> lost(String out) {
        int sent = pings(out)[0];
        java.util.BitSet answered = new java.util.BitSet();
        Matcher m = Pattern.compile("seq=(\\d+) ").matcher(out);
        while (m.find()) answered.set(Integer.parseInt(m.group(1)));
        List<String> ranges = new java.util.ArrayList<>();
        for (int i = answered.nextClearBit(0); i < sent; i = answered.nextClearBit(i)) {
            int end = Math.min(answered.nextSetBit(i) < 0 ? sent : answered.nextSetBit(i), sent) - 1;
            ranges.add(i == end ? String.valueOf(i) : i + "-" + end);
            i = end + 1;
        }
        return ranges;
    }

    private static int[] pings(String out) {
        Matcher m = PING.matcher(out);
        if (!m.find()) return new int[] {0, 0};
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }
}
