package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two nodes (namespaces joined by an underlay veth), each running the packaged node-daemon and the
 * Java datapath (wiremesh-wg) against a real API server, pods wired by the CNI plugin: pods on
 * different nodes talk, and only WireGuard crosses the underlay — also when a datapath is down.
 */
class MeshIT {
    static final Path CNITOOL = CniInstallIT.CNITOOL;
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final String mesh = "e2e-" + id;
    private Host host;
    private KubernetesClient client;
    private final String[] nodes = new String[2];
    private final String[] ifs = new String[2];
    private final String[] pods = new String[2];
    private final Process[] datapaths = new Process[2];
    private final Process[] daemons = new Process[2];
    private String underlay;
    private Map<String, String> kubeEnv;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.exists(Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar")), "needs the packaged jars (mvn verify)");
        assumeTrue(Files.isExecutable(CNITOOL), "needs wmcnitool (scripts/install-deps.sh)");
        host = new Host();
        client = KubeApiServer.client();
        // The API server listens on the root namespace's loopback; nodes reach it through a unix-socket hop.
        kubeEnv = host.apiServerBridge();

        for (int i = 0; i < 2; i++) nodes[i] = host.ns("wmt-" + id + "-n" + (i + 1));
        underlay = "wu" + id;
        Host.sh("ip", "link", "add", underlay + "a", "netns", nodes[0], "type", "veth", "peer", "name", underlay + "b", "netns", nodes[1]);
        for (int i = 0; i < 2; i++) {
            String link = underlay + (i == 0 ? "a" : "b");
            host.in(nodes[i], "sysctl", "-qw", "net.ipv6.conf." + link + ".disable_ipv6=1");
            Host.sh("ip", "-n", nodes[i], "addr", "add", "10.210.0." + (i + 1) + "/24", "dev", link);
            Host.sh("ip", "-n", nodes[i], "link", "set", link, "mtu", "1400", "up");
            // A default route over the underlay, as real nodes have: without fail-closed routing, pod
            // traffic would take it in plaintext whenever the tunnel is missing.
            Host.sh("ip", "-n", nodes[i], "route", "add", "default", "via", "10.210.0." + (2 - i));
            host.apiServerInto(nodes[i]);
        }

        // The mesh and its members, as the operator creates them.
        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(mesh).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.43.0.0/16", "fd43::/48");
        m.getSpec().peerCIDRs = List.of("10.45.0.0/24");
        m.getSpec().listenPort = 51820;
        m.getSpec().nodeSelector = Map.of("wiremesh-e2e", id);
        m = client.resource(m).create();
        for (int i = 0; i < 2; i++) {
            WireGuardNode w = member(m, nodes[i], List.of("10.43." + (i + 1) + ".0/24", "fd43::" + (i + 1) + ":0/112"),
                    List.of("10.43." + (i + 1) + ".1", "fd43::" + (i + 1) + ":1"));
            // What the operator copies from the Node's InternalIPs.
            w.getSpec().nodeAddresses = List.of("10.210.0." + (i + 1), "fd10:210::" + (i + 1));
            client.resource(w).create();
        }
        host.acceptProposals(client, mesh);
        for (int i = 0; i < 2; i++) ifs[i] = "wmj" + id + i;
        // Node 1's daemon starts before its datapath (as a DaemonSet's containers may): it waits for it.
        daemons[0] = startDaemon(0);
        await().atMost(Liveness.BOUND).until(() -> {
            var st = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get().getStatus();
            return st != null && st.conditions.stream().anyMatch(c -> "WaitingForDatapath".equals(c.getReason()));
        });
        datapaths[0] = startDatapath(0);
        datapaths[1] = startDatapath(1);
        daemons[1] = startDaemon(1);
        await().atMost(60, TimeUnit.SECONDS).until(() -> {
            for (String n : nodes) {
                WireGuardNode w = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, n)).get();
                if (w.getStatus() == null || w.getStatus().publicKey == null
                        || w.getStatus().conditions.stream().noneMatch(c -> "Configured".equals(c.getReason()))) return false;
            }
            return true;
        });
        // "Configured" is published just before the daemon opens its CNI socket.
        await().atMost(Liveness.BOUND).until(() -> Files.exists(cniSocket(0)) && Files.exists(cniSocket(1)));
        // Pods are created by a real CNI runtime: libcni (the library podman and CRI runtimes use).
        Path cniBin = Files.createDirectories(host.dir.resolve("cni-bin"));
        Files.createSymbolicLink(cniBin.resolve("wiremesh"), Host.ROOT.resolve("bin/wiremesh-cni"));
        for (int i = 0; i < 2; i++) {
            pods[i] = host.ns("wmt-" + id + "-p" + (i + 1));
            Path netd = Files.createDirectories(host.dir.resolve("net.d-" + i));
            Files.writeString(netd.resolve("10-wiremesh.conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"plugins\":"
                    + "[{\"type\":\"wiremesh\",\"socket\":\"" + cniSocket(i) + "\"}]}");
            Commands.Result add = Commands.run(List.of("ip", "netns", "exec", nodes[i], CNITOOL.toString(), "add", "wiremesh",
                    "/var/run/netns/" + pods[i], "pod" + i + "-" + id), Map.of("NETCONFPATH", netd.toString(), "CNI_PATH", cniBin.toString(),
                    "CNI_CACHE_DIR", host.dir.resolve("cni-cache-" + i).toString()), null);
            assertThat(add.exit()).as(add.out()).isZero();
            assertThat(add.out()).contains("10.43." + (i + 1) + ".2/32");
        }
    }

    /** A WireGuardNode of {@code mesh} for {@code node}, as the operator creates it (not yet stored). */
    static WireGuardNode member(WireGuardMesh mesh, String node, List<String> blocks, List<String> overlayAddresses) {
        String name = mesh.getMetadata().getName();
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName(WireGuardNode.nameFor(name, node))
                .withLabels(Map.of(WireGuardNode.MESH_LABEL, name, WireGuardNode.NODE_LABEL, node))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("wiremesh.io/v1alpha1").withKind("WireGuardMesh")
                        .withName(name).withUid(mesh.getMetadata().getUid()).build()).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().mesh = name;
        w.getSpec().nodeName = node;
        w.getSpec().podCIDRs = blocks;
        w.getSpec().overlayAddresses = overlayAddresses;
        w.getSpec().keyGeneration = 1L;
        return w;
    }

    private Path cniSocket(int i) {
        return host.dir.resolve("n" + i + "-cni.sock");
    }

    /** The userspace datapath of node {@code i}: the Java one here; subclasses mix in wireguard-go. */
    protected String datapathCommand(int i) {
        return Host.ROOT.resolve("bin/wiremesh-wg").toString();
    }

    private Process startDatapath(int i) throws Exception {
        Process p = host.spawn("wg-" + i + ".log", null, "ip", "netns", "exec", nodes[i], datapathCommand(i), "-f", ifs[i]);
        Path sock = Path.of("/var/run/wireguard", ifs[i] + ".sock");
        await().atMost(Liveness.BOUND).until(() -> Files.exists(sock));
        return p;
    }

    private Process startDaemon(int i) throws Exception {
        return host.spawn("daemon-" + i + ".log", kubeEnv, "ip", "netns", "exec", nodes[i], Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--mesh", mesh, "--node-name", nodes[i], "--node-ip", "10.210.0." + (i + 1), "--interface", ifs[i],
                "--state-dir", host.dir.resolve("state-" + i).toString(), "--cni-socket", cniSocket(i).toString());
    }

    @AfterEach
    void tearDown() throws Exception {
        cleanUp(host, client, mesh, ifs);
    }

    /**
     * Removes what a mesh test made, also after a failure: its processes and namespaces ({@code host}),
     * the mesh and its WireGuardNodes, and the files its interfaces left in /var/run/wireguard (UAPI
     * socket, the node-daemon's owner record). Null arguments are skipped.
     */
    static void cleanUp(Host host, KubernetesClient client, String mesh, String... ifnames) throws Exception {
        if (host != null) host.close();
        if (client != null) {
            client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, mesh).delete();
            client.resources(WireGuardMesh.class).withName(mesh).delete();
        }
        for (String i : ifnames) {
            if (i == null) continue;
            Files.deleteIfExists(Path.of("/var/run/wireguard", i + ".sock"));
            Files.deleteIfExists(Path.of("/var/run/wireguard", i + ".owner"));
            Files.deleteIfExists(Path.of("/var/run/wireguard", i + ".unresponsive"));
        }
    }

    private String ping(int from, String to, int count) throws Exception {
        return Commands.run(List.of("ip", "netns", "exec", pods[from], "ping", "-c", String.valueOf(count), "-i", "0.2", "-W", "2", to), null, null).out();
    }

    private static final byte[] MARKER = "WIREMESH-E2E-PLAINTEXT-MARKER".getBytes();

    /** The last 60 lines of a log. */
    static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    /** Sends {@code signal} (STOP, CONT) to node {@code i}'s datapath process and its children. */
    private void signalDatapath(int i, String signal) throws Exception {
        List<String> pids = new java.util.ArrayList<>(List.of(String.valueOf(datapaths[i].pid())));
        datapaths[i].descendants().forEach(d -> pids.add(String.valueOf(d.pid())));
        List<String> cmd = new java.util.ArrayList<>(List.of("kill", "-" + signal));
        cmd.addAll(pids);
        Host.sh(cmd.toArray(String[]::new));
    }

    /**
     * A datapath that takes the node-daemon's requests and never answers (a stopped process: its socket still accepts
     * into the backlog) holds up nothing else: the node says DatapathUnresponsive, marks it for its liveness probe, keeps
     * serving /healthz, metrics and CNI requests, and recovers by itself when the datapath answers again.
     */
    @Test
    void aDatapathThatNeverAnswersIsReportedWhileEverythingElseGoesOn() throws Exception {
        String n1 = WireGuardNode.nameFor(mesh, nodes[0]);
        Path mark = Path.of("/var/run/wireguard", ifs[0] + ".unresponsive");
        signalDatapath(0, "STOP");
        try {
            await().atMost(Liveness.BOUND).until(() -> client.resources(WireGuardNode.class).withName(n1).get().getStatus().conditions.stream()
                    .anyMatch(c -> "DatapathUnresponsive".equals(c.getReason()) && "False".equals(c.getStatus())));
            assertThat(mark).exists();
            assertThat(Files.readString(mark)).contains("did not answer").contains(ifs[0] + ".sock");
            assertThat(host.in(nodes[0], "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9465/healthz")).isEqualTo("200");
            assertThat(host.in(nodes[0], "curl", "-s", "--max-time", "60", "http://127.0.0.1:9465/metrics"))
                    .contains("wiremesh_datapath_up 0.0", "wiremesh_datapath_unresponsive 1.0");
            // A new pod on the node is wired all the same (its traffic waits for the datapath, fail-closed).
            Path netd = host.dir.resolve("net.d-0");
            String pod = host.ns("wmt-" + id + "-hp");
            Commands.Result add = Commands.run(List.of("ip", "netns", "exec", nodes[0], CNITOOL.toString(), "add", "wiremesh",
                    "/var/run/netns/" + pod, "hung-" + id), Map.of("NETCONFPATH", netd.toString(), "CNI_PATH", host.dir.resolve("cni-bin").toString(),
                    "CNI_CACHE_DIR", host.dir.resolve("cni-cache-0").toString()), null);
            assertThat(add.exit()).as(add.out() + host.log("daemon-0.log")).isZero();
        } finally {
            signalDatapath(0, "CONT");
        }
        await().atMost(Liveness.BOUND).until(() -> client.resources(WireGuardNode.class).withName(n1).get().getStatus().conditions.stream()
                .anyMatch(c -> "Configured".equals(c.getReason())) && !Files.exists(mark));
        await().atMost(Liveness.BOUND).until(() -> ping(0, "10.43.2.2", 1).contains("1 received"));
        assertThat(host.log("daemon-0.log")).contains("did not answer");
    }

    @Test
    void aListenPortInUseIsReportedThenAppliedOnceFree() throws Exception {
        // Another process holds UDP 51830 on node 1 (both families), so only node 2 can move there at first.
        Process squatter = host.spawn("squatter.log", null, "ip", "netns", "exec", nodes[0], "socat", "-u", "UDP6-RECV:51830", "-");
        await().atMost(Liveness.BOUND).until(() -> host.in(nodes[0], "ss", "-uanH").contains(":51830"));
        var edited = client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().listenPort = 51830;
            return m;
        });
        long generation = edited.getMetadata().getGeneration();
        String n1 = WireGuardNode.nameFor(mesh, nodes[0]), n2 = WireGuardNode.nameFor(mesh, nodes[1]);
        await().atMost(Liveness.BOUND).until(() -> {
            var s2 = client.resources(WireGuardNode.class).withName(n2).get().getStatus();
            var s1 = client.resources(WireGuardNode.class).withName(n1).get().getStatus();
            return Long.valueOf(generation).equals(s2.observedMeshGeneration) && s1.conditions.stream()
                    .anyMatch(c -> "MeshChangeNotApplied".equals(c.getReason()) && c.getMessage().contains("generation " + generation));
        });
        var s1 = client.resources(WireGuardNode.class).withName(n1).get().getStatus();
        assertThat(s1.observedMeshGeneration).as("node 1 is not on the new generation").isNotEqualTo(generation);
        assertThat(s1.endpoints).as("node 1 still publishes the port it listens on").allMatch(e -> e.endsWith(":51820"));
        assertThat(client.resources(WireGuardNode.class).withName(n2).get().getStatus().endpoints).allMatch(e -> e.endsWith(":51830"));
        // Pods still talk across the half-applied edit (after node 2's rebind: wireguard-go reopens its sockets).
        await().atMost(Liveness.BOUND).until(() -> ping(0, "10.43.2.2", 1).contains("1 received"));
        assertThat(ping(0, "10.43.2.2", 3)).contains("3 received");
        // Retried every second: once the port is free, node 1 takes it without any further edit.
        Host.stop(squatter);
        long freed = System.nanoTime();
        await().atMost(Liveness.BOUND).pollInterval(100, TimeUnit.MILLISECONDS).until(() -> {
            var s = client.resources(WireGuardNode.class).withName(n1).get().getStatus();
            return Long.valueOf(generation).equals(s.observedMeshGeneration) && s.endpoints.stream().allMatch(e -> e.endsWith(":51830"))
                    && s.conditions.stream().anyMatch(c -> "Configured".equals(c.getReason()));
        });
        System.out.printf("e2e: listen port applied %.1f s after another process let go of it%n", (System.nanoTime() - freed) / 1e9);
        assertThat(host.in(nodes[0], "wg", "show", ifs[0], "listen-port").trim()).isEqualTo("51830");
        assertThat(ping(0, "10.43.2.2", 3)).contains("3 received");
        assertThat(ping(1, "10.43.1.2", 3)).contains("3 received");
    }

    @Test
    void podsOnDifferentNodesTalkOnlyThroughWireGuardAndSurviveRestarts() throws Exception {
        assertThat(ping(0, "10.43.2.2", 3)).contains("3 received");
        assertThat(ping(1, "10.43.1.2", 3)).contains("3 received");
        assertThat(ping(0, "fd43::2:2", 3)).contains("3 received");
        assertThat(ping(1, "fd43::1:2", 3)).contains("3 received");
        WireGuardNode n1 = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get();
        assertThat(n1.getStatus().endpoints).containsExactly("10.210.0.1:51820");
        assertThat(n1.getStatus().conditions).anySatisfy(c -> assertThat(c.getStatus()).isEqualTo("True"));
        // The ML-KEM public key for the preshared keys between nodes: published, its private half only on the node's disk.
        assertThat(java.util.Base64.getDecoder().decode(n1.getStatus().kemPublicKey)).hasSize(1206);
        String dump = host.in(nodes[0], "wg", "show", ifs[0], "dump");
        WireGuardNode n2 = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[1])).get();
        // No MTU in the mesh: the WireGuard interface gets the underlay's (1400) minus WireGuard's 80.
        assertThat(host.in(nodes[0], "ip", "link", "show", ifs[0])).contains("mtu 1320");
        assertThat(host.in(pods[0], "ip", "link", "show", "eth0")).contains("mtu 1320"); // pods never exceed the tunnel
        assertThat(dump).contains(n2.getStatus().publicKey).contains("10.210.0.2:51820").contains("10.43.2.0/24");

        // A checksummed TCP transfer pod to pod, with a capture on the underlay: WireGuard UDP only.
        Path pcap = host.dir.resolve("underlay.pcap");
        Process cap = host.spawn("tcpdump.log", null, "ip", "netns", "exec", nodes[0], "tcpdump", "-i", underlay + "a", "-n", "-U", "-w", pcap.toString(), "ip or ip6");
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump.log").contains("listening on"));
        byte[] data = new byte[4 << 20];
        ThreadLocalRandom.current().nextBytes(data);
        for (int off = 0; off + MARKER.length < data.length; off += 1000) System.arraycopy(MARKER, 0, data, off, MARKER.length);
        Path src = host.dir.resolve("src"), dst = host.dir.resolve("dst");
        Files.write(src, data);
        Process server = host.spawn("socat-srv.log", null, "ip", "netns", "exec", pods[1], "socat", "-u", "TCP-LISTEN:5001,reuseaddr", "OPEN:" + dst + ",creat,trunc");
        await().atMost(Liveness.BOUND).until(() -> host.in(pods[1], "ss", "-ltnH").contains(":5001"));
        host.in(pods[0], "socat", "-u", "OPEN:" + src, "TCP:10.43.2.2:5001,connect-timeout=10");
        assertThat(server.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(sha(dst)).isEqualTo(sha(src));
        Thread.sleep(300);
        Host.stop(cap);
        assertOnlyWireGuard(pcap, true);

        // node-daemon restart: the datapath is another process, so not one ping is lost.
        Process pinger = host.spawn("ping-restart.log", null, "ip", "netns", "exec", pods[0], "ping", "-c", "40", "-i", "0.1", "-W", "1", "10.43.2.2");
        Thread.sleep(500);
        Host.stop(daemons[0]);
        daemons[0] = startDaemon(0);
        assertThat(pinger.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(host.log("ping-restart.log")).contains("40 received");

        // datapath restart: the daemon notices the empty interface and reconfigures it (how soon: printed).
        Host.stop(datapaths[0]);
        datapaths[0] = startDatapath(0);
        long t0 = System.nanoTime();
        try {
            await().atMost(Liveness.BOUND).pollInterval(java.time.Duration.ofMillis(200))
                    .until(() -> ping(0, "10.43.2.2", 1).contains("1 received"));
        } catch (org.awaitility.core.ConditionTimeoutException e) { // what the two processes said: the only record once the host is gone
            throw new AssertionError("no traffic after the datapath restarted\n--- daemon-0.log (tail)\n" + tail(host.log("daemon-0.log"))
                    + "\n--- wg-0.log (tail)\n" + tail(host.log("wg-0.log")) + "\n--- wg show\n" + Commands.run(List.of("ip", "netns", "exec", nodes[0], "wg", "show", ifs[0]), null, null).out(), e);
        }
        System.out.printf("e2e: traffic back %.1f s after the datapath restarted%n", (System.nanoTime() - t0) / 1e9);

        // Spoofing from the underlay: node 2 sends a plaintext packet with its own pod-range source
        // (its overlay address) straight over the underlay. Node 1 must drop it (the masquerade table's strict
        // reverse-path check; the kernel's rp_filter is loose, see MeshRouting.looseReversePathOn): pod sources
        // are accepted only from the tunnel.
        assertThat(host.in(nodes[0], "sysctl", "-n", "net.ipv4.conf." + underlay + "a.rp_filter").trim()).isEqualTo("2");
        host.in(nodes[1], "ip", "route", "add", "10.43.1.2/32", "via", "10.210.0.1", "dev", underlay + "b");
        assertThat(Commands.run(List.of("ip", "netns", "exec", nodes[1], "ping", "-c", "2", "-W", "1", "-I", "10.43.2.1", "10.43.1.2"), null, null).out())
                .contains(" 0 received");
        host.in(nodes[1], "ip", "route", "del", "10.43.1.2/32");

        // The per-peer handshake summary in the node's status.
        await().atMost(Liveness.BOUND).until(() -> {
            var st = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get().getStatus();
            return st.peers != null && st.peers.size() == 1 && st.peers.get(0).lastHandshakeTime != null
                    && nodes[1].equals(st.peers.get(0).node) && st.peers.get(0).rxBytes > 0;
        });

        // Health, readiness and metrics of a node-daemon.
        String metrics = http(0, "/metrics");
        assertThat(metrics).contains("wiremesh_peers 1").contains("wiremesh_ipam_addresses_used 2")
                .contains("node=\"" + nodes[1] + "\"").contains("wiremesh_peer_rx_bytes{").doesNotContain("private");
        assertThat(http(0, "/readyz")).startsWith("HTTP/1.1 200");
        assertThat(http(0, "/healthz")).startsWith("HTTP/1.1 200");

        externalPeerReachesAPodOnANonGatewayNode();

        // A node that lost its disk comes back with a new key: its peers follow, traffic resumes.
        String oldKey = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[1])).get().getStatus().publicKey;
        Host.stop(daemons[1]);
        Files.delete(host.dir.resolve("state-1/private.key"));
        long k0 = System.nanoTime();
        daemons[1] = startDaemon(1);
        await().atMost(Liveness.BOUND).until(() -> !oldKey.equals(
                client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[1])).get().getStatus().publicKey));
        long published = System.nanoTime();
        await().atMost(Liveness.BOUND).pollInterval(java.time.Duration.ofMillis(200))
                .until(() -> ping(0, "10.43.2.2", 1).contains("1 received"));
        System.out.printf("e2e: new key published %.1f s after the restart; traffic back %.1f s after that%n",
                (published - k0) / 1e9, (System.nanoTime() - published) / 1e9);
        assertThat(host.in(nodes[0], "wg", "show", ifs[0], "peers")).doesNotContain(oldKey);

        // Fail closed: with a datapath down (the peer's, then our own, whose interface then vanishes with
        // its routes), pod traffic stops and nothing crosses the underlay in plaintext, although the
        // node has a default route over it.
        assertThat(host.in(nodes[0], "ip", "route", "show", "type", "unreachable")).contains("10.43.0.0/16");
        assertThat(host.in(nodes[0], "ip", "-6", "route", "show", "type", "unreachable")).contains("fd43::/48");
        Path pcap2 = host.dir.resolve("down.pcap");
        Process cap2 = host.spawn("tcpdump2.log", null, "ip", "netns", "exec", nodes[0], "tcpdump", "-i", underlay + "a", "-n", "-U", "-w", pcap2.toString(), "ip or ip6");
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump2.log").contains("listening on"));
        for (int down : new int[] {1, 0}) {
            Host.stop(datapaths[down]);
            assertThat(ping(0, "10.43.2.2", 3)).contains(" 0 received");
            assertThat(ping(1, "10.43.1.2", 3)).contains(" 0 received");
            assertThat(ping(0, "fd43::2:2", 2)).contains(" 0 received");
            Commands.run(List.of("ip", "netns", "exec", pods[0], "sh", "-c", "printf '" + new String(MARKER)
                    + "' | socat -u - TCP:10.43.2.2:5002,connect-timeout=2"), null, null);
        }
        Thread.sleep(300);
        Host.stop(cap2);
        assertOnlyWireGuard(pcap2, false);
    }

    /**
     * A laptop joins with `wiremesh peer add` (node 1 is its gateway), runs Debian's wireguard-go with
     * the printed config in a namespace of its own, and reaches a pod on node 2 through node 1 — encrypted
     * on both hops; `wiremesh peer remove` cuts it off.
     */
    private void externalPeerReachesAPodOnANonGatewayNode() throws Exception {
        String name = "laptop-" + id;
        Path kubeconfig = host.dir.resolve("kubeconfig");
        Path keys = Files.createDirectories(host.dir.resolve("peer-keys"));
        Process add = host.spawn("peer-add.log", null, Host.ROOT.resolve("bin/wiremesh").toString(), "peer", "--kubeconfig", kubeconfig.toString(),
                "--dir", keys.toString(), "add", name, "--mesh", mesh, "--preshared-key", "--psk-namespace", "default", "--full-tunnel");
        // The operator's part (proven in the operator module): an address and node 1 as gateway.
        await().atMost(Liveness.BOUND).until(() -> client.resources(io.wiremesh.api.v1alpha1.WireGuardPeer.class).withName(name).get() != null);
        client.resources(io.wiremesh.api.v1alpha1.WireGuardPeer.class).withName(name).editStatus(x -> {
            x.setStatus(new io.wiremesh.api.v1alpha1.WireGuardPeerStatus());
            x.getStatus().addresses = List.of("10.45.0.1/32");
            x.getStatus().gatewayEndpoints = List.of("10.210.0.1:51820");
            return x;
        });
        assertThat(add.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = host.log("peer-add.log");
        assertThat(add.exitValue()).as(out).isZero();
        String config = out.substring(out.indexOf("[Interface]"), out.indexOf("\n\n", out.indexOf("[Peer]")) + 1);
        // With a preshared key: the handshake below succeeds only if the gateway applied it from the Secret.
        assertThat(config).contains("PresharedKey = ");

        String ext = host.ns("wmt-" + id + "-ext");
        String link = "wx" + id;
        Host.sh("ip", "link", "add", link + "a", "netns", nodes[0], "type", "veth", "peer", "name", link + "b", "netns", ext);
        host.in(nodes[0], "sysctl", "-qw", "net.ipv6.conf." + link + "a.disable_ipv6=1");
        host.in(ext, "sysctl", "-qw", "net.ipv6.conf." + link + "b.disable_ipv6=1");
        Host.sh("ip", "-n", nodes[0], "addr", "add", "10.212.0.1/24", "dev", link + "a");
        Host.sh("ip", "-n", ext, "addr", "add", "10.212.0.2/24", "dev", link + "b");
        Host.sh("ip", "-n", nodes[0], "link", "set", link + "a", "up");
        Host.sh("ip", "-n", ext, "link", "set", link + "b", "up");
        Host.sh("ip", "-n", ext, "route", "add", "default", "via", "10.212.0.1");
        String wgIf = "wmx" + id;
        host.spawn("ext-wg.log", null, "ip", "netns", "exec", ext, "wireguard-go", "-f", wgIf);
        Path sock = Path.of("/var/run/wireguard", wgIf + ".sock");
        await().atMost(Liveness.BOUND).until(() -> Files.exists(sock));
        try {
            Path conf = host.dir.resolve(wgIf + ".conf");
            Files.writeString(conf, config);
            Path stripped = host.dir.resolve("stripped.conf");
            Files.writeString(stripped, Host.sh("wg-quick", "strip", conf.toString()));
            host.in(ext, "wg", "setconf", wgIf, stripped.toString());
            Host.sh("ip", "-n", ext, "addr", "add", "10.45.0.1/32", "dev", wgIf);
            Host.sh("ip", "-n", ext, "link", "set", wgIf, "up");
            Host.sh("ip", "-n", ext, "route", "add", "10.43.0.0/16", "dev", wgIf);

            Path pcap = host.dir.resolve("ext.pcap");
            Process cap = host.spawn("tcpdump-ext.log", null, "ip", "netns", "exec", ext, "tcpdump", "-i", link + "b", "-n", "-U", "-w", pcap.toString(), "ip");
            await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump-ext.log").contains("listening on"));
            await().atMost(Liveness.BOUND).pollInterval(java.time.Duration.ofMillis(500))
                    .until(() -> Commands.run(List.of("ip", "netns", "exec", ext, "ping", "-c", "1", "-W", "1", "10.43.2.2"), null, null).out().contains("1 received"));
            assertThat(Commands.run(List.of("ip", "netns", "exec", ext, "ping", "-c", "3", "-i", "0.2", "10.43.2.2"), null, null).out()).contains("3 received");
            // TCP too, checksummed, with the node-to-node hop captured: encrypted there as well.
            Path hop = host.dir.resolve("hop.pcap");
            Process hopCap = host.spawn("tcpdump-hop.log", null, "ip", "netns", "exec", nodes[0], "tcpdump", "-i", underlay + "a", "-n", "-U", "-w", hop.toString(), "ip");
            await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump-hop.log").contains("listening on"));
            Path src = host.dir.resolve("ext-src"), dst = host.dir.resolve("ext-dst");
            byte[] data = new byte[1 << 20];
            ThreadLocalRandom.current().nextBytes(data);
            for (int off = 0; off + MARKER.length < data.length; off += 1000) System.arraycopy(MARKER, 0, data, off, MARKER.length);
            Files.write(src, data);
            Process server = host.spawn("ext-srv.log", null, "ip", "netns", "exec", pods[1], "socat", "-u", "TCP-LISTEN:5003,reuseaddr", "OPEN:" + dst + ",creat,trunc");
            await().atMost(Liveness.BOUND).until(() -> host.in(pods[1], "ss", "-ltnH").contains(":5003"));
            host.in(ext, "socat", "-u", "OPEN:" + src, "TCP:10.43.2.2:5003,connect-timeout=10");
            assertThat(server.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(sha(dst)).isEqualTo(sha(src));
            Thread.sleep(300);
            Host.stop(hopCap);
            assertOnlyWireGuard(hop, true);
            Host.stop(cap);
            List<String> lines = Host.sh("tcpdump", "-r", pcap.toString(), "-nn", "-q").lines().filter(l -> !l.startsWith("reading")).toList();
            // Node 1 answers from the address of the link the laptop uses (the datapath does not pin the source
            // address yet), and wireguard-go roams to it: either way, WireGuard UDP only.
            assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l).matches(
                    "^\\S+ IP 10\\.212\\.0\\.2\\.\\d+ > 10\\.21[02]\\.0\\.1\\.51820: UDP, length \\d+$"
                    + "|^\\S+ IP 10\\.21[02]\\.0\\.1\\.51820 > 10\\.212\\.0\\.2\\.\\d+: UDP, length \\d+$"));
            assertThat(lines).noneMatch(l -> l.contains("10.43.") || l.contains("10.45."));

            // Full tunnel: the device reaches the world through its gateway, masqueraded to the gateway's address.
            assertThat(config).contains("AllowedIPs = 0.0.0.0/0");
            outsideBehindNode1();
            Host.sh("ip", "-n", ext, "route", "add", "198.18.9.2/32", "dev", wgIf);
            assertThat(askFrom(ext, "198.18.9.2")).isEqualTo("outside saw 198.18.9.1");

            // The gateway (node 1) reports the device's latest handshake in its own WireGuardNode's status; the
            // operator copies it into the WireGuardPeer (node-daemons cannot write WireGuardPeers).
            await().atMost(Liveness.BOUND).until(() -> {
                var st = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get().getStatus();
                return st.devices != null && st.devices.stream().anyMatch(d -> name.equals(d.name) && d.lastHandshakeTime != null);
            });

            Commands.Result removed = Commands.run(List.of(Host.ROOT.resolve("bin/wiremesh").toString(), "peer", "--kubeconfig", kubeconfig.toString(),
                    "--dir", keys.toString(), "remove", name), null, null);
            assertThat(removed.exit()).as(removed.out()).isZero();
            assertThat(client.secrets().inNamespace("default").withName(name + "-psk").get()).isNull();
            await().atMost(Liveness.BOUND).pollInterval(java.time.Duration.ofMillis(500))
                    .until(() -> Commands.run(List.of("ip", "netns", "exec", ext, "ping", "-c", "2", "-W", "1", "10.43.2.2"), null, null).out().contains(" 0 received"));
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * Beyond pods: the outside world (behind node 1) sees pods masqueraded to node 1's address, IPv4
     * and IPv6; a pod reaches another node's own addresses through the tunnel with its own source,
     * and its own node's directly; nothing of it crosses the underlay in clear. When membership ends
     * the table and rules go, and an iptables (kube-proxy style) rule beside them stays.
     */
    @Test
    void podsReachNodeAddressesThroughTheTunnelAndTheOutsideMasqueraded() throws Exception {
        // Dual-stack node addresses on the underlay (the setup leaves IPv6 off there).
        for (int i = 0; i < 2; i++) {
            String link = underlay + (i == 0 ? "a" : "b");
            host.in(nodes[i], "sysctl", "-qw", "net.ipv6.conf." + link + ".disable_ipv6=0");
            host.in(nodes[i], "ip", "addr", "add", "fd10:210::" + (i + 1) + "/64", "dev", link, "nodad");
        }
        outsideBehindNode1();
        // "Who is asking" servers on both nodes, as hostNetwork servers would be.
        whoIsAsking(nodes[0], "node1");
        whoIsAsking(nodes[1], "node2");
        // A kube-proxy style rule on node 2 that wiremesh must leave alone.
        host.in(nodes[1], "iptables", "-t", "nat", "-N", "KUBE-POSTROUTING");
        host.in(nodes[1], "iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "KUBE-POSTROUTING");

        assertThat(ask(0, "198.18.9.2")).isEqualTo("outside saw 198.18.9.1");
        assertThat(ask(0, "fd18:9::2")).isEqualTo("outside saw fd18:9::1");

        Path pcap = host.dir.resolve("node-address.pcap");
        Process cap = host.spawn("tcpdump-na.log", null, "ip", "netns", "exec", nodes[0], "tcpdump", "-i", underlay + "a", "-n", "-U",
                "--immediate-mode", "-w", pcap.toString(), "(ip or ip6) and not icmp6 and not ip6 multicast"); // no ring-buffer delay; no ND/MLD
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump-na.log").contains("listening on"));
        assertThat(ask(0, "10.210.0.2")).as("a pod reaches another node's address with its own source").isEqualTo("node2 saw 10.43.1.2");
        assertThat(ask(0, "fd10:210::2")).isEqualTo("node2 saw fd43::1:2");
        assertThat(ask(1, "10.210.0.1")).isEqualTo("node1 saw 10.43.2.2");
        assertThat(ask(0, "10.210.0.1")).as("and its own node's").isEqualTo("node1 saw 10.43.1.2");
        Thread.sleep(300);
        Host.stop(cap);
        assertOnlyWireGuard(pcap, true);
        assertThat(host.in(nodes[0], "ip", "rule", "show")).contains("from 10.43.0.0/16 lookup 51820");
        assertThat(host.in(nodes[0], "nft", "list", "table", "inet", "wiremesh")).contains("masquerade");

        // Someone flushes the ruleset (a reload of /etc/nftables.conf does) and deletes the policy rule: repaired.
        host.in(nodes[0], "nft", "flush", "ruleset");
        host.in(nodes[0], "ip", "rule", "del", "from", "10.43.0.0/16", "lookup", "51820");
        long flushed = System.nanoTime();
        await().atMost(Liveness.BOUND).pollInterval(java.time.Duration.ofMillis(250))
                .until(() -> host.in(nodes[0], "ip", "rule", "show").contains("from 10.43.0.0/16 lookup 51820")
                        && Commands.run(List.of("ip", "netns", "exec", nodes[0], "nft", "list", "table", "inet", "wiremesh"), null, null).out().contains("masquerade"));
        System.out.printf("e2e: egress rules repaired %.1f s after a flush%n", (System.nanoTime() - flushed) / 1e9);
        assertThat(ask(0, "198.18.9.2")).isEqualTo("outside saw 198.18.9.1");

        // End of node 2's membership: its masquerade table and policy routes go (the NetworkPolicy table stays: the pods
        // still on the node stay isolated as last decided); the iptables rule stays.
        client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[1])).delete();
        await().atMost(Liveness.BOUND).until(() -> !MASQUERADE_TABLE.matcher(host.in(nodes[1], "nft", "list", "tables")).find()
                && !host.in(nodes[1], "ip", "rule", "show").contains("51820") && !host.in(nodes[1], "ip", "-6", "rule", "show").contains("51820"));
        assertThat(host.in(nodes[1], "ip", "route", "show", "table", "all")).doesNotContain("table 51820");
        assertThat(host.in(nodes[1], "iptables", "-t", "nat", "-S")).contains("-A POSTROUTING -j KUBE-POSTROUTING");
    }

    /** The masquerade table in `nft list tables` (not the NetworkPolicy table, inet wiremesh-policy). */
    private static final java.util.regex.Pattern MASQUERADE_TABLE = java.util.regex.Pattern.compile("(?m)^table inet wiremesh$");

    /**
     * The outside: a host behind node 1 (198.18.9.2, fd18:9::2) that has no route to any pod or peer
     * address, running a "who is asking" server.
     */
    private void outsideBehindNode1() throws Exception {
        String outside = host.ns("wmt-" + id + "-out");
        Host.sh("ip", "link", "add", "wo" + id, "netns", nodes[0], "type", "veth", "peer", "name", "eth0", "netns", outside);
        host.in(nodes[0], "ip", "addr", "add", "198.18.9.1/24", "dev", "wo" + id);
        host.in(nodes[0], "ip", "addr", "add", "fd18:9::1/64", "dev", "wo" + id, "nodad");
        host.in(nodes[0], "ip", "link", "set", "wo" + id, "up");
        host.in(outside, "ip", "addr", "add", "198.18.9.2/24", "dev", "eth0");
        host.in(outside, "ip", "addr", "add", "fd18:9::2/64", "dev", "eth0", "nodad");
        host.in(outside, "ip", "link", "set", "eth0", "up");
        whoIsAsking(outside, "outside");
    }

    /** A TCP server on port 8080 of namespace {@code ns} that answers "NAME saw CLIENT-ADDRESS", IPv4 and IPv6. */
    private void whoIsAsking(String ns, String name) throws Exception {
        for (String listen : List.of("TCP4-LISTEN:8080,fork,reuseaddr", "TCP6-LISTEN:8080,ipv6only=1,fork,reuseaddr")) {
            host.spawn("who-" + name + listen.charAt(3) + ".log", null, "ip", "netns", "exec", ns, "socat", listen,
                    "SYSTEM:echo " + name + " saw $SOCAT_PEERADDR");
        }
        await().atMost(Liveness.BOUND).until(() -> host.in(ns, "ss", "-ltnH").split(":8080").length > 2);
    }

    /** What the "who is asking" server at {@code address} answers pod {@code from}. */
    private String ask(int from, String address) throws Exception {
        return askFrom(pods[from], address);
    }

    /** What the "who is asking" server at {@code address} answers a client in namespace {@code ns}. */
    private String askFrom(String ns, String address) throws Exception {
        String target = address.indexOf(':') >= 0 ? "TCP6:[" + address + "]:8080" : "TCP4:" + address + ":8080";
        Commands.Result r = Commands.run(List.of("ip", "netns", "exec", ns, "socat", "-T", "5", "-", target + ",connect-timeout=5"), null, "");
        String out = r.out().strip();
        int saw = out.indexOf(" saw [");
        if (saw < 0) return out;
        // socat writes IPv6 peers in full, bracketed: shorten to RFC 5952 text.
        String ip = out.substring(saw + 6, out.indexOf(']', saw));
        return out.substring(0, saw) + " saw " + io.wiremesh.api.net.Cidr.parse(ip + "/128").address(0);
    }

    /** A plain HTTP GET to node {@code i}'s status server, from inside the node's namespace. */
    private String http(int i, String path) throws Exception {
        return Commands.run(List.of("ip", "netns", "exec", nodes[i], "socat", "-t", "5", "-", "TCP:127.0.0.1:9465"), null,
                "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").out();
    }

    private void assertOnlyWireGuard(Path pcap, boolean mustHaveTraffic) throws Exception {
        List<String> lines = Host.sh("tcpdump", "-r", pcap.toString(), "-nn", "-q").lines().filter(l -> !l.startsWith("reading")).toList();
        if (mustHaveTraffic) assertThat(lines).isNotEmpty();
        // WireGuard datagrams, and (with a datapath down) the peer node's ICMP port-unreachable about them,
        // which quotes only the encrypted datagram. Never a pod address in the clear.
        assertThat(lines).allSatisfy(l -> assertThat(l).matches(
                "^\\S+ IP 10\\.210\\.0\\.[12]\\.51820 > 10\\.210\\.0\\.[12]\\.51820: UDP, length \\d+$"
                + "|^\\S+ IP 10\\.210\\.0\\.[12] > 10\\.210\\.0\\.[12]: ICMP 10\\.210\\.0\\.[12] udp port 51820 unreachable, length \\d+$"));
        assertThat(lines).noneMatch(l -> l.contains("10.43.") || l.contains("fd43:"));
        byte[] raw = Files.readAllBytes(pcap);
        assertThat(new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain(new String(MARKER));
    }

    private static String sha(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }
}
