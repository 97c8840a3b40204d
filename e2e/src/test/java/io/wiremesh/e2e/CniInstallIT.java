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
}
