package io.wiremesh.node.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Installing the plugin and putting back what was removed or changed on the node afterwards, with a
 * stand-in runtime (its {@code bin/java} only has to run for the AOT training step).
 */
class CniInstallerTest {
    @TempDir
    Path dir;
    private Path bin;
    private Path conf;
    private CniInstaller installer;
    private Path socket;

    @BeforeEach
    void runtime() throws IOException {
        Path runtime = Files.createDirectories(dir.resolve("runtime/bin"));
        Files.writeString(runtime.resolve("java"), "#!/bin/sh\ncat >/dev/null\n");
        Files.setPosixFilePermissions(runtime.resolve("java"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = Files.writeString(dir.resolve("wiremesh-cni.jar"), "a jar");
        bin = Files.createDirectories(dir.resolve("opt/cni/bin"));
        conf = Files.createDirectories(dir.resolve("etc/cni/net.d"));
        installer = new CniInstaller(runtime.getParent(), jar, bin, conf);
        socket = dir.resolve("cni.sock");
    }

    @Test
    void whatWasRemovedOrChangedIsPutBackAsItWas() throws IOException {
        Path conflist = installer.install(socket, 1420);
        byte[] original = Files.readAllBytes(conflist);
        Path launcher = bin.resolve(CniInstaller.PLUGIN);
        String launcherText = Files.readString(launcher);
        assertThat(installer.changed()).isEmpty();
        assertThat(installer.reinstallIfChanged()).isEmpty();

        Files.delete(conflist);
        assertThat(installer.reinstallIfChanged()).containsExactly(conflist);
        assertThat(Files.readAllBytes(conflist)).isEqualTo(original);

        Files.writeString(conflist, "{\"cniVersion\":\"1.0.0\",\"name\":\"someone-else\",\"plugins\":[]}");
        Files.delete(launcher);
        assertThat(installer.reinstallIfChanged()).containsExactlyInAnyOrder(conflist, launcher);
        assertThat(Files.readAllBytes(conflist)).isEqualTo(original);
        assertThat(Files.readString(launcher)).isEqualTo(launcherText);
        assertThat(Files.isExecutable(launcher)).isTrue();

        Path runtimeDir = Path.of(launcherText.split("\"")[1]).getParent().getParent(); // exec "<dir>/bin/java" ...
        try (var files = Files.walk(runtimeDir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        assertThat(installer.reinstallIfChanged()).containsExactly(runtimeDir);
        assertThat(runtimeDir.resolve("bin/java")).isExecutable();
        assertThat(installer.changed()).isEmpty();
    }

    /** Appends a plugin entry the way linkerd-cni's installer does: read the list, add to plugins, write a copy, rename it over. */
    @SuppressWarnings("unchecked")
    static void chainOnto(Path conflist, String type) throws IOException {
        Map<String, Object> list = JSON.std.mapFrom(Files.readString(conflist));
        ((List<Object>) list.get("plugins")).add(Map.of("type", type, "name", type, "log_level", "info"));
        Path tmp = conflist.resolveSibling(type + ".tmp");
        Files.writeString(tmp, JSON.std.asString(list));
        Files.move(tmp, conflist, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static List<Object> types(Path conflist) throws IOException {
        return ((List<?>) JSON.std.mapFrom(Files.readString(conflist)).get("plugins")).stream().<Object>map(p -> ((Map<?, ?>) p).get("type")).toList();
    }

    @Test
    void pluginsChainedOntoTheListAreKeptByEveryRepairARestartAndAnUpgrade() throws IOException {
        Path conflist = installer.install(socket, 1420);
        chainOnto(conflist, "linkerd-cni");
        byte[] chained = Files.readAllBytes(conflist);
        assertThat(installer.changed()).as("another installer's entry is no change of ours").isEmpty();
        assertThat(installer.reinstallIfChanged()).isEmpty();
        assertThat(Files.readAllBytes(conflist)).as("not rewritten: no loop with the other installer").isEqualTo(chained);

        Files.delete(conflist); // a node clean-up
        assertThat(installer.reinstallIfChanged()).containsExactly(conflist);
        assertThat(types(conflist)).containsExactly("wiremesh", "linkerd-cni");

        Files.writeString(conflist, Files.readString(conflist).replace("1420", "9000")); // our entry edited by hand
        assertThat(installer.reinstallIfChanged()).containsExactly(conflist);
        assertThat(types(conflist)).containsExactly("wiremesh", "linkerd-cni");
        assertThat(Files.readString(conflist)).contains("1420");

        Files.writeString(conflist, "{ half a file");
        assertThat(installer.reinstallIfChanged()).as("unreadable: what was chained on when last read is kept").containsExactly(conflist);
        assertThat(types(conflist)).containsExactly("wiremesh", "linkerd-cni");

        chainOnto(conflist, "istio-cni");
        CniInstaller restarted = new CniInstaller(dir.resolve("runtime"), dir.resolve("wiremesh-cni.jar"), bin, conf);
        restarted.install(dir.resolve("another.sock"), 1380); // a new daemon, another version of our entry
        assertThat(types(conflist)).containsExactly("wiremesh", "linkerd-cni", "istio-cni");
        assertThat(Files.readString(conflist)).contains("another.sock").contains("1380");
        assertThat(restarted.changed()).isEmpty();
    }

    @Test
    void aConfigurationTakingPrecedenceIsReportedOrWithExclusiveMovedAside() throws Exception {
        CniServer server = CniServer.start(null, socket);
        AtomicBoolean stopping = new AtomicBoolean();
        try (CniRepair reporting = CniRepair.start(server, installer, Duration.ofDays(1), new Object(), stopping::get);
             CniRepair exclusive = CniRepair.start(server, installer, Duration.ofDays(1), new Object(), stopping::get, true)) {
            installer.install(socket, 1420);
            Path calico = Files.writeString(conf.resolve("05-calico.conflist"), "{\"cniVersion\":\"0.3.1\",\"name\":\"k8s-pod-network\",\"plugins\":[]}");
            Files.writeString(conf.resolve("99-after.conf"), "{}");
            reporting.check();
            assertThat(reporting.preceding()).containsExactly(calico);
            assertThat(calico).as("only reported").exists();
            assertThat(CniRepair.precedenceMessage(reporting.preceding())).contains("05-calico.conflist").contains("cni.exclusive");

            stopping.set(true);
            exclusive.check();
            assertThat(calico).as("nothing moved once stopping").exists();
            stopping.set(false);
            exclusive.check();
            assertThat(calico).doesNotExist();
            assertThat(conf.resolve("05-calico.conflist" + NetworkConfigDir.ASIDE)).exists();
            assertThat(exclusive.preceding()).isEmpty();
            reporting.check();
            assertThat(reporting.preceding()).as("gone: resolved").isEmpty();
            assertThat(conf.resolve("99-after.conf")).as("read after ours: not in the way").exists();

            assertThat(NetworkConfigDir.restore(conf).restored()).containsExactly(calico);
        } finally {
            server.close();
        }
    }

    @Test
    void nothingIsPutBackOnceStopping() throws Exception {
        CniServer server = CniServer.start(null, socket);
        AtomicBoolean stopping = new AtomicBoolean();
        Object lifecycle = new Object();
        try (CniRepair repair = CniRepair.start(server, installer, Duration.ofDays(1), lifecycle, stopping::get)) {
            Path conflist = installer.install(socket, 1420);
            Files.delete(conflist);
            Files.delete(socket);
            repair.check();
            assertThat(conflist).exists();
            assertThat(server.reachable()).isTrue();
            assertThat(repair.intact()).isTrue();

            stopping.set(true);
            assertThat(CniInstaller.uninstall(conf)).isTrue();
            repair.check();
            assertThat(conflist).doesNotExist();
        } finally {
            server.close();
        }
    }

    @Test
    void aSocketThatCannotBeServedAgainMakesTheNodeUnready() throws Exception {
        CniServer server = CniServer.start(null, socket);
        Object lifecycle = new Object();
        try (CniRepair repair = CniRepair.start(server, null, Duration.ofDays(1), lifecycle, () -> false)) {
            Files.delete(socket);
            Files.createDirectories(socket.resolve("in-the-way")); // a non-empty directory where the socket was
            repair.check();
            assertThat(repair.intact()).isFalse();
            Thread.sleep(5);
            assertThat(repair.failingFor(Duration.ofMillis(1))).as("for /healthz: a restart may help").isTrue();
            assertThat(repair.failingFor(Duration.ofDays(1))).isFalse();
            Files.delete(socket.resolve("in-the-way"));
            Files.delete(socket);
            repair.check();
            assertThat(repair.intact()).isTrue();
            assertThat(repair.failingFor(Duration.ofMillis(1))).isFalse();
            assertThat(server.reachable()).isTrue();
        } finally {
            server.close();
        }
    }
}
