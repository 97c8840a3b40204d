package io.wiremesh.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.testing.Liveness;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged CNI plugin and node-daemon on real namespaces: a "node" namespace running the daemon,
 * "pods" as namespaces, the plugin invoked the way runtimes invoke it (environment + stdin), and
 * through libcni in a chain with the reference portmap plugin.
 */
class CniIT {
    static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    static final Path CNITOOL = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"), "bin/wmcnitool");

    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final List<String> namespaces = new ArrayList<>();
    private Path dir;
    private Process daemon;
    private String node;
    private Path socket;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.exists(ROOT.resolve("node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar")), "needs the packaged daemon (mvn verify)");
        dir = Files.createTempDirectory("wmt-cni");
        socket = dir.resolve("cni.sock");
        node = ns("node");
        sh("ip", "-n", node, "link", "set", "lo", "up");
        startDaemon();
    }

    @AfterEach
    void tearDown() throws Exception {
        stopDaemon();
        for (String n : namespaces.reversed()) run(List.of("ip", "netns", "del", n), null);
        if (dir != null) try (var f = Files.walk(dir)) {
            f.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private void startDaemon() throws Exception {
        daemon = new ProcessBuilder("ip", "netns", "exec", node, ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--pod-cidr", "10.42.7.0/24,fd42::7:0/112", "--state-dir", dir.resolve("state").toString(), "--cni-socket", socket.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while (!Files.exists(socket) && daemon.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertThat(socket).as(Files.exists(dir.resolve("daemon.log")) ? Files.readString(dir.resolve("daemon.log")) : "").exists();
    }

    private void stopDaemon() throws Exception {
        if (daemon == null) return;
        daemon.destroy();
        if (!daemon.waitFor(10, TimeUnit.SECONDS)) daemon.destroyForcibly().waitFor();
        daemon = null;
    }

    private String ns(String name) throws Exception {
        String n = "wmt-" + id + "-" + name;
        sh("ip", "netns", "add", n);
        namespaces.add(n);
        return n;
    }

    private String conf(String version) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"socket\":\"" + socket + "\"}";
    }

    record Result(int exit, String out) {
        Map<String, Object> json() throws Exception {
            return JSON.std.mapFrom(out);
        }
    }

    /** Invokes bin/wiremesh-cni as a runtime does. */
    private Result cni(String command, String containerId, String netns, String conf) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        if (containerId != null) env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_NETNS", netns == null ? "" : netns);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + containerId);
        env.put("CNI_PATH", "/usr/lib/cni");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("bin/wiremesh-cni").toString());
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().write(conf.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return new Result(p.exitValue(), out);
    }

    static String sh(String... cmd) throws Exception {
        Result r = run(List.of(cmd), null);
        if (r.exit() != 0) throw new IllegalStateException(List.of(cmd) + ": " + r.out());
        return r.out();
    }

    static Result run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (env != null) pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return new Result(p.exitValue(), out);
    }

    private String nodeLinks() throws Exception {
        return sh("ip", "-n", node, "-o", "link", "show");
    }

    @SuppressWarnings("unchecked")
    private String ipv4(Result add) throws Exception {
        List<Map<String, Object>> ips = (List<Map<String, Object>>) add.json().get("ips");
        return ((String) ips.get(0).get("address")).replace("/32", "");
    }

    @Test
    @SuppressWarnings("unchecked")
    void podsGetAddressesReachEachOtherAndDelIsIdempotent() throws Exception {
        String p1 = ns("p1"), p2 = ns("p2");
        Result a1 = cni("ADD", "c1-" + id, "/var/run/netns/" + p1, conf("1.1.0"));
        Result a2 = cni("ADD", "c2-" + id, "/var/run/netns/" + p2, conf("1.1.0"));
        assertThat(a1.exit()).as(a1.out()).isZero();
        assertThat(a2.exit()).as(a2.out()).isZero();
        Map<String, Object> r = a1.json();
        assertThat(r).containsEntry("cniVersion", "1.1.0");
        List<Map<String, Object>> ifs = (List<Map<String, Object>>) r.get("interfaces");
        assertThat(ifs).hasSize(2);
        assertThat(ifs.get(1)).containsEntry("name", "eth0").containsEntry("sandbox", "/var/run/netns/" + p1);
        assertThat((String) ifs.get(1).get("mac")).matches("([0-9a-f]{2}:){5}[0-9a-f]{2}");
        List<Map<String, Object>> ips = (List<Map<String, Object>>) r.get("ips");
        assertThat(ips).extracting(m -> m.get("address")).containsExactly("10.42.7.2/32", "fd42::7:2/128");
        assertThat(ips.get(0)).containsEntry("interface", 1).doesNotContainKey("version");
        assertThat(sh("ip", "-n", p1, "-o", "addr", "show", "eth0")).contains("10.42.7.2/32").contains("mtu 1420".isEmpty() ? "" : "eth0");

        // Pod to pod through the node, both families.
        assertThat(sh("ip", "netns", "exec", p1, "ping", "-c", "2", "-W", "3", ipv4(a2))).contains("2 received");
        assertThat(sh("ip", "netns", "exec", p2, "ping", "-c", "2", "-W", "3", "fd42::7:2")).contains("2 received");
        assertThat(cni("CHECK", "c1-" + id, "/var/run/netns/" + p1, conf("1.1.0")).exit()).isZero();
        assertThat(cni("STATUS", null, null, conf("1.1.0")).exit()).isZero();

        // DEL: twice, without a netns, and after the namespace is gone: always success.
        assertThat(cni("DEL", "c1-" + id, "/var/run/netns/" + p1, conf("1.1.0")).exit()).isZero();
        assertThat(cni("DEL", "c1-" + id, "/var/run/netns/" + p1, conf("1.1.0")).exit()).isZero();
        assertThat(cni("DEL", "c1-" + id, null, conf("1.1.0")).exit()).isZero();
        sh("ip", "netns", "del", p2);
        namespaces.remove(p2);
        assertThat(cni("DEL", "c2-" + id, "/var/run/netns/" + p2, conf("1.1.0")).exit()).isZero();
        assertThat(cni("DEL", "c2-" + id, null, conf("1.1.0")).exit()).isZero();
        assertThat(cni("DEL", "never-existed", null, conf("1.1.0")).exit()).isZero();
        assertThat(nodeLinks()).doesNotContain(" wm");
        assertThat(Files.readString(dir.resolve("state/ipam.json"))).doesNotContain("c1-" + id).doesNotContain("c2-" + id);
    }

    @Test
    @SuppressWarnings("unchecked")
    void olderConfigVersionsGetTheirResultShape() throws Exception {
        String p = ns("old");
        Result add = cni("ADD", "old-" + id, "/var/run/netns/" + p, conf("0.3.1"));
        assertThat(add.exit()).as(add.out()).isZero();
        assertThat(add.json()).containsEntry("cniVersion", "0.3.1");
        assertThat((List<Map<String, Object>>) add.json().get("ips")).extracting(m -> m.get("version")).containsExactly("4", "6");
        assertThat(cni("DEL", "old-" + id, "/var/run/netns/" + p, conf("0.3.1")).exit()).isZero();
    }

    @Test
    void aFailedAddLeavesNoVethAndNoAddress() throws Exception {
        String p = ns("busy");
        sh("ip", "-n", p, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"); // the runtime's interface name is taken
        Result add = cni("ADD", "busy-" + id, "/var/run/netns/" + p, conf("1.1.0"));
        assertThat(add.exit()).isNotZero();
        assertThat(add.json()).containsEntry("code", 7).containsEntry("cniVersion", "1.1.0");
        assertThat((String) add.json().get("msg")).contains("eth0 already exists");
        assertThat(nodeLinks()).doesNotContain(" wm");
        assertThat(Files.readString(dir.resolve("state/ipam.json"))).doesNotContain("busy-" + id);
        // A namespace that vanished between the plugin's check and the daemon's work: same, no leftovers.
        Result gone = cni("ADD", "gone-" + id, "/proc/1/ns/net-missing", conf("1.1.0"));
        assertThat(gone.json()).containsEntry("code", 4);
    }

    @Test
    void aDaemonRestartKeepsEveryAddressAndTheDaemonDownIsTryAgainLater() throws Exception {
        String p1 = ns("r1"), p2 = ns("r2");
        String ip1 = ipv4(cni("ADD", "r1-" + id, "/var/run/netns/" + p1, conf("1.0.0")));
        stopDaemon();
        Result down = cni("ADD", "r2-" + id, "/var/run/netns/" + p2, conf("1.0.0"));
        assertThat(down.exit()).isNotZero();
        assertThat(down.json()).containsEntry("code", 11);
        assertThat(cni("STATUS", null, null, conf("1.1.0")).json()).containsEntry("code", 50);
        assertThat(nodeLinks()).contains(" wm"); // pods keep their network while the daemon is away
        startDaemon();
        String ip2 = ipv4(cni("ADD", "r2-" + id, "/var/run/netns/" + p2, conf("1.0.0")));
        assertThat(ip2).isNotEqualTo(ip1);
        assertThat(sh("ip", "netns", "exec", p2, "ping", "-c", "1", "-W", "3", ip1)).contains("1 received");
    }

    @Test
    void gcReleasesAttachmentsTheRuntimeNoLongerHas() throws Exception {
        String p1 = ns("g1"), p2 = ns("g2");
        assertThat(cni("ADD", "g1-" + id, "/var/run/netns/" + p1, conf("1.1.0")).exit()).isZero();
        assertThat(cni("ADD", "g2-" + id, "/var/run/netns/" + p2, conf("1.1.0")).exit()).isZero();
        String gc = conf("1.1.0").replace("}", ",\"cni.dev/valid-attachments\":[{\"containerID\":\"g2-" + id + "\",\"ifname\":\"eth0\"}]}");
        assertThat(cni("GC", null, null, gc).exit()).isZero();
        String state = Files.readString(dir.resolve("state/ipam.json"));
        assertThat(state).doesNotContain("g1-" + id).contains("g2-" + id);
        assertThat(sh("ip", "-n", p1, "-o", "link")).doesNotContain("eth0");
    }

    @Test
    void gcNeverReleasesLivePodsOnAMissingOrDifferentlyNamedList() throws Exception {
        String p1 = ns("h1");
        assertThat(cni("ADD", "h1-" + id, "/var/run/netns/" + p1, conf("1.1.0")).exit()).isZero();
        // The CNI 1.1 text's key (libcni's older key absent): the pod is valid and stays.
        String specKey = conf("1.1.0").replace("}", ",\"cni.dev/attachments\":[{\"containerID\":\"h1-" + id + "\",\"ifname\":\"eth0\"}]}");
        assertThat(cni("GC", null, null, specKey).exit()).isZero();
        // No list at all: an invalid request (code 7), nothing released.
        Result missing = cni("GC", null, null, conf("1.1.0"));
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.json()).containsEntry("code", 7);
        assertThat(Files.readString(dir.resolve("state/ipam.json"))).contains("h1-" + id);
        assertThat(sh("ip", "-n", p1, "-o", "link")).contains("eth0");
        // An explicit empty list: nothing is valid, the attachment goes.
        assertThat(cni("GC", null, null, conf("1.1.0").replace("}", ",\"cni.dev/attachments\":[]}")).exit()).isZero();
        assertThat(Files.readString(dir.resolve("state/ipam.json"))).doesNotContain("h1-" + id);
    }

    @Test
    void worksAsTheFirstPluginOfAChainWithPortmap() throws Exception {
        assumeTrue(Files.isExecutable(CNITOOL), "needs wmcnitool (scripts/build-cnitool.sh, run by scripts/install-deps.sh)");
        String p = ns("chain");
        Path confDir = Files.createDirectories(dir.resolve("net.d"));
        Path binDir = Files.createDirectories(dir.resolve("bin"));
        Files.createSymbolicLink(binDir.resolve("wiremesh"), ROOT.resolve("bin/wiremesh-cni"));
        Files.writeString(confDir.resolve("10-wiremesh.conflist"), """
                {"cniVersion": "1.0.0", "name": "wmchain", "plugins": [
                  {"type": "wiremesh", "socket": "%s"},
                  {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
                ]}""".formatted(socket));
        Map<String, String> env = Map.of("NETCONFPATH", confDir.toString(), "CNI_PATH", binDir + ":/usr/lib/cni",
                "CNI_CACHE_DIR", dir.resolve("cache").toString(),
                "PORT_MAPPINGS", "[{\"hostPort\": 18080, \"containerPort\": 80, \"protocol\": \"tcp\"}]");
        List<String> base = List.of("ip", "netns", "exec", node, CNITOOL.toString());
        Result add = run(concat(base, "add", "wmchain", "/var/run/netns/" + p, "chain-" + id), env);
        assertThat(add.exit()).as(add.out()).isZero();
        assertThat(add.out()).contains("10.42.7.").contains("\"cniVersion\": \"1.0.0\"");
        assertThat(sh("ip", "netns", "exec", node, "iptables-save", "-t", "nat")).contains("--dport 18080").contains("CNI-HOSTPORT");
        // No CHECK here: Debian's portmap 1.1.1 fails CHECK whenever it made no ip6tables rules
        // (containernetworking/plugins#819); our own CHECK is covered above.
        Result del = run(concat(base, "del", "wmchain", "/var/run/netns/" + p, "chain-" + id), env);
        assertThat(del.exit()).as(del.out()).isZero();
        assertThat(sh("ip", "netns", "exec", node, "iptables-save", "-t", "nat")).doesNotContain("--dport 18080");
        assertThat(nodeLinks()).doesNotContain(" wm");
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(List.of(b));
        return l;
    }
}
