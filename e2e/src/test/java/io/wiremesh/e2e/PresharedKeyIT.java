package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.testing.Commands;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three nodes (namespaces on one underlay bridge), each with the packaged node-daemon and the Java
 * datapath against a real API server, the post-quantum preshared keys rotating every 5 s: pods ping
 * each other at 10/s across many rotations, a daemon killed mid-rotation and a node that lost its
 * ML-KEM key and its chains, and not one ping is lost; every pair has its own key, both sides hold the same one, and it changes
 * every epoch; only WireGuard crosses the underlay.
 */
class PresharedKeyIT {
    static final int N = 3;
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final String mesh = "e2e-psk-" + id;
    private Host host;
    private KubernetesClient client;
    private final String[] nodes = new String[N];
    private final String[] ifs = new String[N];
    private final String[] pods = new String[N];
    private final Process[] daemons = new Process[N];
    private String bridge;
    private Map<String, String> kubeEnv;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.exists(Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar")), "needs the packaged jars (mvn verify)");
        assumeTrue(Files.isExecutable(MeshIT.CNITOOL), "needs wmcnitool (scripts/install-deps.sh)");
        host = new Host();
        client = KubeApiServer.client();
        // The API server listens on the root namespace's loopback; nodes reach it through a unix-socket hop.
        kubeEnv = host.apiServerBridge();

        // The underlay: a bridge in its own namespace, one veth to each node.
        bridge = host.ns("wmt-" + id + "-u");
        host.in(bridge, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); // no router solicitations
        Host.sh("ip", "-n", bridge, "link", "add", "br0", "type", "bridge");
        Host.sh("ip", "-n", bridge, "link", "set", "br0", "up");
        for (int i = 0; i < N; i++) {
            nodes[i] = host.ns("wmt-" + id + "-n" + (i + 1));
            String link = "wk" + id + i;
            Host.sh("ip", "link", "add", link, "netns", nodes[i], "type", "veth", "peer", "name", "p" + i, "netns", bridge);
            Host.sh("ip", "-n", bridge, "link", "set", "p" + i, "master", "br0", "up");
            host.in(nodes[i], "sysctl", "-qw", "net.ipv6.conf." + link + ".disable_ipv6=1");
            Host.sh("ip", "-n", nodes[i], "addr", "add", "10.211.0." + (i + 1) + "/24", "dev", link);
            Host.sh("ip", "-n", nodes[i], "link", "set", link, "mtu", "1400", "up");
            host.apiServerInto(nodes[i]);
        }

        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(mesh).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of("10.44.0.0/16");
        m.getSpec().nodeSelector = Map.of("wiremesh-e2e", id);
        m.getSpec().presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        m.getSpec().presharedKeys.interval = "5s";
        m = client.resource(m).create();
        for (int i = 0; i < N; i++) {
            WireGuardNode w = MeshIT.member(m, nodes[i], List.of("10.44." + (i + 1) + ".0/24"), List.of("10.44." + (i + 1) + ".1"));
            w.getSpec().nodeAddresses = List.of("10.211.0." + (i + 1));
            client.resource(w).create();
        }
        host.acceptProposals(client, mesh);
        for (int i = 0; i < N; i++) {
            ifs[i] = "wmq" + id + i;
            host.spawn("wg-" + i + ".log", null, "ip", "netns", "exec", nodes[i], Host.ROOT.resolve("bin/wiremesh-wg").toString(), "-f", ifs[i]);
            daemons[i] = startDaemon(i);
        }
        await().atMost(60, TimeUnit.SECONDS).until(() -> {
            for (int i = 0; i < N; i++) if (!Files.exists(cniSocket(i))) return false;
            return true;
        });
        Path cniBin = Files.createDirectories(host.dir.resolve("cni-bin"));
        Files.createSymbolicLink(cniBin.resolve("wiremesh"), Host.ROOT.resolve("bin/wiremesh-cni"));
        for (int i = 0; i < N; i++) {
            pods[i] = host.ns("wmt-" + id + "-p" + (i + 1));
            Path netd = Files.createDirectories(host.dir.resolve("net.d-" + i));
            Files.writeString(netd.resolve("10-wiremesh.conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"plugins\":"
                    + "[{\"type\":\"wiremesh\",\"socket\":\"" + cniSocket(i) + "\"}]}");
            Commands.Result add = Commands.run(List.of("ip", "netns", "exec", nodes[i], MeshIT.CNITOOL.toString(), "add", "wiremesh",
                    "/var/run/netns/" + pods[i], "pod" + i + "-" + id), Map.of("NETCONFPATH", netd.toString(), "CNI_PATH", cniBin.toString(),
                    "CNI_CACHE_DIR", host.dir.resolve("cni-cache-" + i).toString()), null);
            assertThat(add.exit()).as(add.out()).isZero();
        }
    }

    private Path cniSocket(int i) {
        return host.dir.resolve("n" + i + "-cni.sock");
    }

    private Path state(int i) {
        return host.dir.resolve("state-" + i);
    }

    private Process startDaemon(int i) throws Exception {
        return host.spawn("daemon-" + i + ".log", kubeEnv, "ip", "netns", "exec", nodes[i], Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--mesh", mesh, "--node-name", nodes[i], "--node-ip", "10.211.0." + (i + 1), "--interface", ifs[i],
                "--state-dir", state(i).toString(), "--cni-socket", cniSocket(i).toString());
    }

    @AfterEach
    void tearDown() throws Exception {
        MeshIT.cleanUp(host, client, mesh, ifs);
    }

    /** Public key -> preshared key (base64, "(none)" for none) of node {@code i}'s peers, from `wg show`. */
    private Map<String, String> presharedKeys(int i) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (String line : host.in(nodes[i], "wg", "show", ifs[i], "preshared-keys").strip().split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2) out.put(f[0], f[1]);
        }
        return out;
    }

    /** {@code count} pings at 10/s from pod {@code pair[0]} to pod {@code pair[1]}, for each pair; logs {@code name-AB.log}. */
    private List<Process> pingAt10PerSecond(String name, int[][] pairs, int count) throws Exception {
        List<Process> pingers = new ArrayList<>();
        for (int[] pair : pairs) {
            pingers.add(host.spawn(name + "-" + pair[0] + pair[1] + ".log", null, "ip", "netns", "exec", pods[pair[0]], "ping", "-c",
                    String.valueOf(count), "-i", "0.1", "-W", "2", "10.44." + (pair[1] + 1) + ".2"));
        }
        return pingers;
    }

    private void assertNoneLost(String name, int[][] pairs, int count) throws Exception {
        for (int[] pair : pairs) {
            assertThat(host.log(name + "-" + pair[0] + pair[1] + ".log")).as("pod %d -> pod %d", pair[0] + 1, pair[1] + 1)
                    .contains(count + " packets transmitted, " + count + " received");
        }
    }

    private Process captureUnderlay(String pcap) throws Exception {
        return host.spawn(pcap + ".log", null, "ip", "netns", "exec", bridge, "tcpdump", "-i", "br0", "-n", "-U", "-w",
                host.dir.resolve(pcap).toString(), "ip or ip6");
    }

    /** The capture holds traffic, all of it WireGuard between the nodes' ports (and ARP). */
    private void assertOnlyWireGuard(String pcap) throws Exception {
        List<String> lines = Host.sh("tcpdump", "-r", host.dir.resolve(pcap).toString(), "-nn", "-q").lines()
                .filter(l -> !l.startsWith("reading")).toList();
        assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l).matches(
                "^\\S+ IP 10\\.211\\.0\\.[123]\\.51820 > 10\\.211\\.0\\.[123]\\.51820: UDP, length \\d+$|^\\S+ ARP, .*"));
    }

    private String publicKey(int i) {
        return client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[i])).get().getStatus().publicKey;
    }

    @Test
    void keysRotateEveryEpochPerPairWithoutLosingAPingAcrossAKillAndALostKemKeyAndChains() throws Exception {
        String[] pub = new String[N];
        await().atMost(60, TimeUnit.SECONDS).until(() -> {
            for (int i = 0; i < N; i++) {
                Map<String, String> k = presharedKeys(i);
                if (k.size() != N - 1 || k.containsValue("(none)")) return false;
            }
            return true;
        });
        for (int i = 0; i < N; i++) pub[i] = publicKey(i);

        // Pings at 10/s between every pair of pods, for ~50 s: 10 epochs of 5 s (fewer for the pairs of a restarting node).
        int count = 500;
        int[][] pairs = {{0, 1}, {0, 2}, {1, 2}};
        List<Process> pingers = pingAt10PerSecond("ping", pairs, count);
        Process cap = captureUnderlay("underlay.pcap");
        // Every pair's key as each side holds it, sampled every 500 ms.
        Map<String, Set<String>> seen = new HashMap<>();
        Set<String> agreed = new HashSet<>();
        long start = System.nanoTime();
        boolean restarted = false, kemLost = false;
        while (pingers.stream().anyMatch(Process::isAlive) && System.nanoTime() - start < 90_000_000_000L) {
            long t = (System.nanoTime() - start) / 1_000_000_000L;
            if (!restarted && t >= 12) {
                // A daemon killed (SIGKILL) in the middle of the run: its chains resume from its state directory.
                daemons[1].descendants().forEach(ProcessHandle::destroyForcibly);
                daemons[1].destroyForcibly().waitFor();
                daemons[1] = startDaemon(1);
                restarted = true;
            }
            if (!kemLost && t >= 25) {
                // Node 3 loses its ML-KEM key and its chains (not its WireGuard key): it makes and publishes a new
                // ML-KEM key and announces epoch 0; the others start new chains with it at once.
                Host.stop(daemons[2]);
                Files.delete(state(2).resolve("kem.key"));
                try (var f = Files.walk(state(2).resolve("psk"))) {
                    f.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
                daemons[2] = startDaemon(2);
                kemLost = true;
            }
            List<Map<String, String>> k = new ArrayList<>();
            for (int i = 0; i < N; i++) k.add(presharedKeys(i));
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < N; j++) {
                    if (i == j) continue;
                    String psk = k.get(i).get(pub[j]);
                    if (psk == null || psk.equals("(none)")) continue;
                    seen.computeIfAbsent(Math.min(i, j) + "-" + Math.max(i, j), x -> new HashSet<>()).add(psk);
                    if (psk.equals(k.get(j).get(pub[i]))) agreed.add(psk);
                }
            }
            Thread.sleep(500);
        }
        for (Process p : pingers) assertThat(p.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        Host.stop(cap);
        assertNoneLost("ping", pairs, count);
        System.out.println("e2e: distinct preshared keys seen per pair in ~50 s: " + seen.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue().size()).sorted().toList());
        assertThat(seen).containsOnlyKeys("0-1", "0-2", "1-2");
        for (var e : seen.entrySet()) assertThat(e.getValue()).as("pair %s: a new key every epoch", e.getKey()).hasSizeGreaterThanOrEqualTo(5);
        // Every pair has its own keys: no key of one pair ever appears on another.
        assertThat(new HashSet<>(seen.get("0-1"))).doesNotContainAnyElementsOf(seen.get("0-2")).doesNotContainAnyElementsOf(seen.get("1-2"));
        assertThat(new HashSet<>(seen.get("0-2"))).doesNotContainAnyElementsOf(seen.get("1-2"));
        assertThat(agreed).as("both sides of a pair hold the same key").hasSizeGreaterThanOrEqualTo(10);

        // Node 3's new ML-KEM key is published and used: its pairs rotate after the loss too.
        String kem3 = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[2])).get().getStatus().kemPublicKey;
        assertThat(kem3).isNotNull();
        Map<String, String> before = presharedKeys(0);
        await().atMost(Liveness.BOUND).until(() -> !presharedKeys(0).get(pub[2]).equals(before.get(pub[2])));
        // The status counts keys, never shows one; the metrics count rotations.
        await().atMost(Liveness.BOUND).until(() -> {
            var s = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get().getStatus().presharedKeys;
            return s != null && s.peers == 2 && s.stale == 0;
        });
        String status = client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, nodes[0])).get().toString()
                + io.fabric8.kubernetes.client.utils.Serialization.asJson(client.resources(WireGuardNode.class).list());
        for (String psk : agreed) assertThat(status).doesNotContain(psk);
        String metrics = Commands.run(List.of("ip", "netns", "exec", nodes[0], "socat", "-t", "5", "-", "TCP:127.0.0.1:9465"), null,
                "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").out();
        assertThat(metrics).containsPattern("wiremesh_psk_rotations_total [1-9]").contains("wiremesh_psk_peers 2.0");
        for (String psk : agreed) assertThat(metrics).doesNotContain(psk);
        for (int i = 0; i < N; i++) for (String psk : agreed) assertThat(host.log("daemon-" + i + ".log")).doesNotContain(psk);

        // The exchange travels inside the tunnels: only WireGuard on the underlay.
        assertOnlyWireGuard("underlay.pcap");
    }

    @Test
    void aNodeKeyRotationLosesNoPing() throws Exception {
        await().atMost(60, TimeUnit.SECONDS).until(() -> !presharedKeys(0).isEmpty() && !presharedKeys(0).containsValue("(none)"));
        String name = WireGuardNode.nameFor(mesh, nodes[1]);
        WireGuardNode before = client.resources(WireGuardNode.class).withName(name).get();
        assertThat(before.getStatus().keyGeneration).isEqualTo(1L);
        assertThat(before.getStatus().keyCreationTime).isNotNull();
        String oldKey = before.getStatus().publicKey;
        int count = 150;
        int[][] pairs = {{0, 1}, {1, 0}, {2, 1}};
        List<Process> pingers = pingAt10PerSecond("rot", pairs, count);
        Process cap = captureUnderlay("rotation.pcap");
        Thread.sleep(3000);
        // What the operator does when the key is older than spec.keyRotation.interval: ask for the next generation.
        long t0 = System.nanoTime();
        client.resources(WireGuardNode.class).withName(name).edit(w -> {
            w.getSpec().keyGeneration = 2L;
            return w;
        });
        await().atMost(Liveness.BOUND).until(() -> {
            var st = client.resources(WireGuardNode.class).withName(name).get().getStatus();
            return st.keyGeneration == 2L && !st.publicKey.equals(oldKey);
        });
        String newKey = publicKey(1);
        System.out.printf("e2e: node key rotated and published %.1f s after the generation was raised%n", (System.nanoTime() - t0) / 1e9);
        await().atMost(Liveness.BOUND).until(() -> {
            for (int i : new int[] {0, 2}) {
                Map<String, String> k = presharedKeys(i);
                if (k.containsKey(oldKey) || !k.containsKey(newKey) || k.get(newKey).equals("(none)")) return false;
            }
            return true;
        });
        for (Process p : pingers) assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Host.stop(cap);
        assertNoneLost("rot", pairs, count);
        assertThat(Files.readString(state(1).resolve("key.generation")).trim()).isEqualTo("2");
        assertOnlyWireGuard("rotation.pcap"); // the new key's handshakes too
    }

    @Test
    void turnedOffNodePeersHaveNoPresharedKeyAndTurnedOnAgainTheyGetOne() throws Exception {
        await().atMost(60, TimeUnit.SECONDS).until(() -> !presharedKeys(0).isEmpty() && !presharedKeys(0).containsValue("(none)"));
        client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().presharedKeys.enabled = false;
            return m;
        });
        await().atMost(Liveness.BOUND).until(() -> {
            for (int i = 0; i < N; i++) if (presharedKeys(i).values().stream().anyMatch(v -> !v.equals("(none)"))) return false;
            return true;
        });
        assertThat(Commands.run(List.of("ip", "netns", "exec", pods[0], "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.44.2.2"), null, null).out())
                .contains("3 received");
        client.resources(WireGuardMesh.class).withName(mesh).edit(m -> {
            m.getSpec().presharedKeys.enabled = true;
            return m;
        });
        await().atMost(Liveness.BOUND).until(() -> {
            for (int i = 0; i < N; i++) if (presharedKeys(i).containsValue("(none)")) return false;
            return true;
        });
        assertThat(Commands.run(List.of("ip", "netns", "exec", pods[0], "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.44.3.2"), null, null).out())
                .contains("3 received");
    }
}
