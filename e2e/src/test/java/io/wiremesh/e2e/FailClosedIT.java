package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node whose datapath never comes: the node-daemon (the packaged one, against a real API server)
 * must have the mesh's fail-closed routes before its CNI socket answers, at a first start, after a
 * kill in the middle of its start and after the routes were deleted; a pod it wires meanwhile sends
 * nothing in clear although the node has a default route over the underlay.
 */
class FailClosedIT {
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final String mesh = "fc-" + id;
    private Host host;
    private KubernetesClient client;
    private String node, other, pod;
    private Map<String, String> kubeEnv;
    private static final List<String> POOLS_V4 = List.of("10.44.0.0/16", "10.46.0.0/24"), POOLS_V6 = List.of("fd44::/48");

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.exists(Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar")), "needs the packaged jars (mvn verify)");
        assumeTrue(Files.isExecutable(MeshIT.CNITOOL), "needs wmcnitool (scripts/install-deps.sh)");
        host = new Host();
        client = KubeApiServer.client();
        kubeEnv = host.apiServerBridge();

        // The node, and "the rest of the underlay" behind its default route, where the capture runs.
        node = host.ns("wmt-" + id + "-fc");
        other = host.ns("wmt-" + id + "-ul");
        Host.sh("ip", "link", "add", "eth0", "netns", node, "type", "veth", "peer", "name", "eth0", "netns", other);
        for (String[] a : new String[][] {{node, "10.211.0.1/24", "fd11:211::1/64"}, {other, "10.211.0.2/24", "fd11:211::2/64"}}) {
            Host.sh("ip", "-n", a[0], "addr", "add", a[1], "dev", "eth0");
            Host.sh("ip", "-n", a[0], "addr", "add", a[2], "dev", "eth0", "nodad");
            Host.sh("ip", "-n", a[0], "link", "set", "eth0", "up");
        }
        Host.sh("ip", "-n", node, "route", "add", "default", "via", "10.211.0.2");
        Host.sh("ip", "-n", node, "-6", "route", "add", "default", "via", "fd11:211::2");
        host.apiServerInto(node);

        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(mesh).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.44.0.0/16", "fd44::/48");
        m.getSpec().peerCIDRs = List.of("10.46.0.0/24");
        m.getSpec().datapath = WireGuardMeshSpec.Datapath.USERSPACE;
        m.getSpec().nodeSelector = Map.of("wiremesh-e2e", id);
        m = client.resource(m).create();
        WireGuardNode w = MeshIT.member(m, node, List.of("10.44.1.0/24", "fd44::1:0/112"), List.of("10.44.1.1", "fd44::1:1"));
        client.resource(w).create();
    }

    @AfterEach
    void tearDown() throws Exception {
        MeshIT.cleanUp(host, client, mesh, "wmf" + id);
    }

    private Path socket() {
        return host.dir.resolve("cni.sock");
    }

    private Process startDaemon(String log) throws Exception {
        return host.spawn(log, kubeEnv, "ip", "netns", "exec", node, Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--mesh", mesh, "--node-name", node, "--node-ip", "10.211.0.1", "--interface", "wmf" + id,
                "--state-dir", host.dir.resolve("state").toString(), "--cni-socket", socket().toString());
    }

    /** Waits for the CNI socket, then (at once) checks the fail-closed routes are already there. */
    private void socketAnswersOnlyAfterTheRoutes(String log) throws Exception {
        await().atMost(60, TimeUnit.SECONDS).pollInterval(java.time.Duration.ofMillis(20)).until(() -> Files.exists(socket()));
        String v4 = host.in(node, "ip", "route", "show", "type", "unreachable"), v6 = host.in(node, "ip", "-6", "route", "show", "type", "unreachable");
        // The kernel shows IPv6 unreachable routes on lo.
        for (String p : POOLS_V4) assertThat(v4).as("IPv4 fail-closed routes when the CNI socket appeared (%s)", host.log(log))
                .containsPattern("unreachable " + p + " proto 87 metric 4096");
        for (String p : POOLS_V6) assertThat(v6).as("IPv6 fail-closed routes when the CNI socket appeared")
                .containsPattern("unreachable " + p + "( dev lo)? proto 87 metric 4096");
        assertThat(host.in(node, "ip", "link", "show")).as("there is no datapath").doesNotContain("wmf" + id);
    }

    @Test
    void withoutADatapathPodTrafficForTheMeshNeverLeavesInClear() throws Exception {
        // First start: no datapath, ever.
        Process daemon = startDaemon("daemon-1.log");
        socketAnswersOnlyAfterTheRoutes("daemon-1.log");
        await().atMost(Liveness.BOUND).until(() -> {
            var st = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, node)).get().getStatus();
            return st != null && st.conditions != null && st.conditions.stream().anyMatch(c -> "WaitingForDatapath".equals(c.getReason()));
        });

        // A pod wired meanwhile (the daemon answers CNI while it waits for its datapath) pings other nodes' pods and
        // an external peer: refused on the node, nothing on the underlay.
        pod = host.ns("wmt-" + id + "-pod");
        Path cniBin = Files.createDirectories(host.dir.resolve("cni-bin")), netd = Files.createDirectories(host.dir.resolve("net.d"));
        Files.createSymbolicLink(cniBin.resolve("wiremesh"), Host.ROOT.resolve("bin/wiremesh-cni"));
        Files.writeString(netd.resolve("10-wiremesh.conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"plugins\":"
                + "[{\"type\":\"wiremesh\",\"socket\":\"" + socket() + "\"}]}");
        Commands.Result add = Commands.run(List.of("ip", "netns", "exec", node, MeshIT.CNITOOL.toString(), "add", "wiremesh", "/var/run/netns/" + pod,
                "fc-" + id), Map.of("NETCONFPATH", netd.toString(), "CNI_PATH", cniBin.toString(), "CNI_CACHE_DIR", host.dir.resolve("cache").toString()), null);
        assertThat(add.exit()).as(add.out()).isZero();
        Path pcap = host.dir.resolve("underlay.pcap");
        Process cap = host.spawn("tcpdump.log", null, "ip", "netns", "exec", other, "tcpdump", "-i", "eth0", "-n", "-U", "--immediate-mode",
                "-w", pcap.toString(), "net 10.44.0.0/16 or net 10.46.0.0/24 or net fd44::/48");
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump.log").contains("listening on"));
        for (String target : List.of("10.44.2.2", "10.46.0.7", "fd44::2:2")) {
            Commands.Result ping = Commands.run(List.of("ip", "netns", "exec", pod, "ping", "-c", "3", "-i", "0.2", "-W", "1", target), null, null);
            assertThat(ping.out()).as(target).contains(" 0 received");
        }
        Thread.sleep(300);
        Host.stop(cap);
        assertThat(Host.sh("tcpdump", "-r", pcap.toString(), "-n").lines().filter(l -> !l.isEmpty() && Character.isDigit(l.charAt(0))).toList())
                .as("pod packets on the underlay").isEmpty();

        // Killed in the middle of its start, its routes deleted (a reboot), started again: routes before the socket.
        Host.stop(daemon);
        Files.deleteIfExists(socket());
        Process killed = startDaemon("daemon-2.log");
        Thread.sleep(700); // the JVM is starting: nothing of ours has run yet, or only part of it
        killed.descendants().forEach(ProcessHandle::destroyForcibly);
        killed.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        for (String p : POOLS_V4) Commands.run(List.of("ip", "-n", node, "route", "del", "unreachable", p, "metric", "4096"), null, null);
        for (String p : POOLS_V6) Commands.run(List.of("ip", "-n", node, "-6", "route", "del", "unreachable", p, "metric", "4096"), null, null);
        assertThat(host.in(node, "ip", "route", "show", "type", "unreachable")).doesNotContain("10.44.0.0/16");
        Files.deleteIfExists(socket());
        startDaemon("daemon-3.log");
        socketAnswersOnlyAfterTheRoutes("daemon-3.log");

        // Deleted while the daemon runs (an admin, a flush): put back (how soon: printed).
        Host.sh("ip", "-n", node, "route", "del", "unreachable", "10.44.0.0/16", "metric", "4096");
        long deleted = System.nanoTime();
        await().atMost(Liveness.BOUND).until(() -> host.in(node, "ip", "route", "show", "type", "unreachable").contains("10.44.0.0/16"));
        System.out.printf("e2e: fail-closed route put back %.1f s after its deletion%n", (System.nanoTime() - deleted) / 1e9);
    }
}
