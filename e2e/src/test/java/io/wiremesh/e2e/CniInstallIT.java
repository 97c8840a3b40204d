package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.jr.ob.JSON;
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
 * The daemon installs the plugin onto a host without Java (its own jlink runtime, an AOT cache made
 * on the spot, the conflist last and atomically); a libcni runtime then wires a pod with it, with
 * no Java on PATH; uninstalling removes the conflist.
 */
class CniInstallIT {
    static final Path CNITOOL = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"), "bin/wmcnitool");
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private Host host;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.isDirectory(Host.ROOT.resolve("cni-plugin/target/cni-runtime")), "needs the packaged plugin runtime (mvn verify)");
        assumeTrue(Files.isExecutable(CNITOOL), "needs wmcnitool (scripts/install-deps.sh)");
        host = new Host();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) host.close();
    }

    @Test
    @SuppressWarnings("unchecked")
    void installsASelfContainedPluginThatARuntimeUses() throws Exception {
        String node = host.ns("wmt-" + id + "-inst");
        String pod = host.ns("wmt-" + id + "-ipod");
        Path bin = Files.createDirectories(host.dir.resolve("opt/cni/bin"));
        Path conf = Files.createDirectories(host.dir.resolve("etc/cni/net.d"));
        Files.createSymbolicLink(bin.resolve("portmap"), Path.of("/usr/lib/cni/portmap"));
        Path socket = host.dir.resolve("cni.sock");
        Process daemon = host.spawn("daemon.log", null, "ip", "netns", "exec", node, Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--pod-cidr", "10.44.3.0/24", "--state-dir", host.dir.resolve("state").toString(), "--cni-socket", socket.toString(),
                "--cni-bin-dir", bin.toString(), "--cni-conf-dir", conf.toString(),
                "--cni-runtime", Host.ROOT.resolve("cni-plugin/target/cni-runtime").toString(),
                "--cni-jar", Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar").toString());
        Path conflist = conf.resolve("10-wiremesh.conflist");
        await().atMost(60, TimeUnit.SECONDS).until(() -> Files.exists(conflist));

        assertThat(Files.isExecutable(bin.resolve("wiremesh"))).isTrue();
        try (var s = Files.list(bin)) {
            Path runtime = s.filter(p -> p.getFileName().toString().startsWith("wiremesh-runtime-")).findFirst().orElseThrow();
            assertThat(runtime.resolve("bin/java")).isExecutable();
            assertThat(runtime.resolve("wiremesh-cni.aot")).as("AOT cache made at install time").exists();
        }
        try (var s = Files.list(bin)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
        Map<String, Object> list = JSON.std.mapFrom(Files.readString(conflist));
        List<Map<String, Object>> plugins = (List<Map<String, Object>>) list.get("plugins");
        assertThat(plugins).extracting(p -> p.get("type")).containsExactly("wiremesh", "portmap");
        assertThat(plugins.get(0)).containsEntry("socket", socket.toString());

        // A runtime with no Java on PATH (only the system's own) uses what was installed.
        Commands.Result add = Commands.run(List.of("ip", "netns", "exec", node, "env", "-i", "PATH=/usr/sbin:/sbin",
                "NETCONFPATH=" + conf, "CNI_PATH=" + bin, "CNI_CACHE_DIR=" + host.dir.resolve("cache"),
                CNITOOL.toString(), "add", "wiremesh", "/var/run/netns/" + pod, "inst-" + id), null, null);
        assertThat(add.exit()).as(add.out() + host.log("daemon.log")).isZero();
        assertThat(add.out()).contains("10.44.3.2/32");
        Commands.Result del = Commands.run(List.of("ip", "netns", "exec", node, "env", "-i", "PATH=/usr/sbin:/sbin",
                "NETCONFPATH=" + conf, "CNI_PATH=" + bin, "CNI_CACHE_DIR=" + host.dir.resolve("cache"),
                CNITOOL.toString(), "del", "wiremesh", "/var/run/netns/" + pod, "inst-" + id), null, null);
        assertThat(del.exit()).as(del.out()).isZero();

        // Removed under the running daemon (a node clean-up): put back as it was.
        String written = Files.readString(conflist);
        Files.delete(conflist);
        Files.delete(bin.resolve("wiremesh"));
        await().atMost(Liveness.BOUND).until(() -> Files.exists(conflist) && Files.isExecutable(bin.resolve("wiremesh")));
        assertThat(Files.readString(conflist)).isEqualTo(written);
        assertThat(host.log("daemon.log")).contains("installed the CNI plugin and configuration again");

        // Uninstalling by hand, once the daemon is stopped (a running one puts its configuration back).
        Host.stop(daemon);
        Host.sh(Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(), "uninstall-cni", "--cni-conf-dir", conf.toString());
        assertThat(conflist).doesNotExist();
    }
    /** A chained plugin as a service mesh installs one: it logs each call and passes the previous result on (CNI spec, chained ADD). */
    private static final String STAND_IN = """
            #!/usr/bin/env python3
            import json, os, sys
            conf = json.load(sys.stdin)
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stand-in.calls"), "a") as log:
                log.write(os.environ["CNI_COMMAND"] + " " + os.environ.get("CNI_CONTAINERID", "") + "\\n")
            if os.environ["CNI_COMMAND"] == "ADD":
                result = dict(conf["prevResult"])
                result["cniVersion"] = conf["cniVersion"]
                print(json.dumps(result))
            """;

    private Process daemon(String node, Path bin, Path conf, Path socket, String log, boolean exclusive) throws Exception {
        return host.spawn(log, null, "ip", "netns", "exec", node, Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(),
                "--pod-cidr", "10.44.4.0/24", "--state-dir", host.dir.resolve("state").toString(), "--cni-socket", socket.toString(),
                "--cni-bin-dir", bin.toString(), "--cni-conf-dir", conf.toString(), "--status-address", "127.0.0.1:9465",
                "--cni-runtime", Host.ROOT.resolve("cni-plugin/target/cni-runtime").toString(),
                "--cni-jar", Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar").toString(), "--cni-exclusive=" + exclusive);
    }

    private Commands.Result cnitool(String node, Path bin, Path conf, String command, String pod, String container) throws Exception {
        return Commands.run(List.of("ip", "netns", "exec", node, "env", "-i", "PATH=/usr/sbin:/sbin:/usr/bin:/bin",
                "NETCONFPATH=" + conf, "CNI_PATH=" + bin, "CNI_CACHE_DIR=" + host.dir.resolve("cache"),
                CNITOOL.toString(), command, "wiremesh", "/var/run/netns/" + pod, container), null, null);
    }

    /** /readyz of the daemon in {@code node}: its HTTP status. */
    private String readyz(String node) throws Exception {
        return Commands.run(List.of("ip", "netns", "exec", node, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:9465/readyz"), null, null).out().trim();
    }

    @SuppressWarnings("unchecked")
    private static List<Object> types(Path conflist) throws Exception {
        return ((List<Map<String, Object>>) JSON.std.mapFrom(Files.readString(conflist)).get("plugins")).stream().<Object>map(p -> p.get("type")).toList();
    }

    /**
     * linkerd-cni's way of joining a node: append its entry to the list the runtime uses. The entry survives the
     * daemon's repairs, a restart and a new version of wiremesh's own entry; every ADD and DEL reaches it; and the
     * two installers do not fight (the file is not rewritten while nothing of wiremesh's part changes). A leftover
     * configuration that sorts first makes the node unready until removed, or is moved aside with cni.exclusive and
     * put back on uninstall.
     */
    @Test
    @SuppressWarnings("unchecked")
    void chainedPluginsAreKeptAndOtherConfigurationsNoticed() throws Exception {
        String node = host.ns("wmt-" + id + "-chn");
        String pod = host.ns("wmt-" + id + "-cpod");
        Path bin = Files.createDirectories(host.dir.resolve("opt/cni/bin"));
        Path conf = Files.createDirectories(host.dir.resolve("etc/cni/net.d"));
        Path socket = host.dir.resolve("cni.sock");
        Path standIn = Files.writeString(bin.resolve("stand-in"), STAND_IN);
        Files.setPosixFilePermissions(standIn, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path calls = host.dir.resolve("opt/cni/stand-in.calls");
        Process first = daemon(node, bin, conf, socket, "daemon-1.log", false);
        Path conflist = conf.resolve("10-wiremesh.conflist");
        await().atMost(Liveness.BOUND).until(() -> Files.exists(conflist) && "200".equals(readyz(node)));

        Map<String, Object> list = JSON.std.mapFrom(Files.readString(conflist));
        ((List<Object>) list.get("plugins")).add(Map.of("type", "stand-in", "name", "stand-in"));
        Path tmp = conf.resolve(".stand-in.tmp");
        Files.writeString(tmp, JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(list));
        Files.move(tmp, conflist, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Object appended = Files.readAttributes(conflist, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        long appendedAt = System.nanoTime();

        Commands.Result add = cnitool(node, bin, conf, "add", pod, "chn-" + id);
        assertThat(add.exit()).as(add.out() + host.log("daemon-1.log")).isZero();
        assertThat(add.out()).as("the stand-in passed wiremesh's result on").contains("10.44.4.2/32");
        assertThat(cnitool(node, bin, conf, "del", pod, "chn-" + id).exit()).isZero();
        assertThat(Files.readAllLines(calls)).containsExactly("ADD chn-" + id, "DEL chn-" + id);

        // A minute of repair checks (every 2 s) over a list another installer extended: not one rewrite.
        Thread.sleep(Math.max(0, TimeUnit.SECONDS.toMillis(60) - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - appendedAt)));
        assertThat(Files.readAttributes(conflist, java.nio.file.attribute.BasicFileAttributes.class).fileKey())
                .as("the file the stand-in's installer wrote is still the one in place").isEqualTo(appended);
        assertThat(host.log("daemon-1.log")).doesNotContain("installed the CNI plugin and configuration again");

        // A repair after a clean-up keeps the entry, and the next ADD reaches it.
        Files.delete(conflist);
        await().atMost(Liveness.BOUND).until(() -> Files.exists(conflist));
        assertThat(types(conflist)).containsExactly("wiremesh", "stand-in");
        assertThat(cnitool(node, bin, conf, "add", pod, "chn2-" + id).exit()).isZero();
        assertThat(cnitool(node, bin, conf, "del", pod, "chn2-" + id).exit()).isZero();
        assertThat(Files.readAllLines(calls)).hasSize(4).endsWith("ADD chn2-" + id, "DEL chn2-" + id);

        // A leftover that sorts first: reported, the node not ready, until it is removed.
        String leftover = "{\"cniVersion\":\"0.3.1\",\"name\":\"k8s-pod-network\",\"plugins\":[{\"type\":\"bridge\"}]}";
        Path calico = Files.writeString(conf.resolve("05-calico.conflist"), leftover);
        await().atMost(Liveness.BOUND).until(() -> "503".equals(readyz(node)));
        assertThat(host.log("daemon-1.log")).contains(calico + "] takes precedence over 10-wiremesh.conflist");
        String metrics = Commands.run(List.of("ip", "netns", "exec", node, "curl", "-s", "http://127.0.0.1:9465/metrics"), null, null).out();
        assertThat(metrics).contains("wiremesh_cni_preceding_configurations 1.0");
        assertThat(calico).as("not moved without cni.exclusive").exists();
        Files.delete(calico);
        await().atMost(Liveness.BOUND).until(() -> "200".equals(readyz(node)));

        // A restart, as a new version with another entry of its own and cni.exclusive: the stand-in stays, the leftover goes aside.
        Host.stop(first);
        Files.writeString(calico, leftover);
        Path socket2 = host.dir.resolve("cni2.sock");
        Process second = daemon(node, bin, conf, socket2, "daemon-2.log", true);
        await().atMost(Liveness.BOUND).until(() -> Files.readString(conflist).contains(socket2.toString()) && !Files.exists(calico)
                && "200".equals(readyz(node)));
        assertThat(types(conflist)).containsExactly("wiremesh", "stand-in");
        assertThat(conf.resolve("05-calico.conflist.wiremesh-aside")).hasContent(leftover);
        assertThat(cnitool(node, bin, conf, "add", pod, "chn3-" + id).exit()).as(host.log("daemon-2.log")).isZero();
        assertThat(cnitool(node, bin, conf, "del", pod, "chn3-" + id).exit()).isZero();
        assertThat(Files.readAllLines(calls)).hasSize(6);

        // Uninstalled: wiremesh's list gone, the leftover back where it was.
        Host.stop(second);
        Host.sh(Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(), "uninstall-cni", "--cni-conf-dir", conf.toString());
        assertThat(conflist).doesNotExist();
        assertThat(calico).hasContent(leftover);
    }
}
