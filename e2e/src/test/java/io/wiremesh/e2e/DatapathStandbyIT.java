package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.wiremesh.testing.Liveness;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The chart's datapath container, run as rendered (its command, under busybox sh as in the image, in a
 * namespace the test owns): it creates nothing while the node-daemon has recorded the kernel module as
 * the interface's owner (or nothing yet), ends promptly on SIGTERM while standing by, and brings the
 * userspace interface up once the owner is userspace; on a live switch to the kernel (owner kernel, TUN
 * deleted) it goes back to standing by, and serves again when switched back. The kernel side of the decision (auto picks
 * the module) runs in {@code KernelMeshIT}.
 */
class DatapathStandbyIT {
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final String ifname = "wmsb" + id;
    private Host host;

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) host.close();
    }

    @Test
    void theChartsDatapathStandsByOnKernelNodesAndServesOnUserspaceNodes() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (a network namespace)");
        assumeTrue(Files.exists(Host.ROOT.resolve("wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar")), "needs the packaged datapath");
        host = new Host();
        String ns = host.ns("wmsb-" + id);
        Path uapi = Files.createDirectories(host.dir.resolve("run-wireguard"));
        List<String> command = datapathCommand(ns);
        Map<String, String> env = Map.of("WIREMESH_WG_UAPI_DIR", uapi.toString());

        // Kernel node: the owner is recorded as kernel; the container stands by and creates no interface.
        Files.writeString(uapi.resolve(ifname + ".owner"), "kernel\n");
        Process standby = host.spawn("standby.log", env, command.toArray(String[]::new));
        await().atMost(Liveness.BOUND).until(() -> host.log("standby.log").contains("standing by"));
        Thread.sleep(1000);
        assertThat(standby.isAlive()).isTrue();
        assertThat(Commands.run(List.of("ip", "-n", ns, "link", "show", ifname), null, null).exit()).as("no interface on a kernel node").isNotZero();
        assertThat(uapi.resolve(ifname + ".sock")).doesNotExist();
        long t0 = System.nanoTime();
        standby.toHandle().destroy(); // SIGTERM to the container's first process, as the kubelet sends it
        assertThat(standby.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("a standing-by datapath ends on SIGTERM (how soon: printed)").isTrue();
        System.out.printf("standby ended %.1f s after SIGTERM (exit %d)%n", (System.nanoTime() - t0) / 1e9, standby.exitValue());

        // Userspace node: nothing recorded at first (the node-daemon starts at the same time), then userspace.
        Files.delete(uapi.resolve(ifname + ".owner"));
        Process serving = host.spawn("serving.log", env, command.toArray(String[]::new));
        await().atMost(Liveness.BOUND).until(() -> host.log("serving.log").contains("waiting for the node-daemon"));
        assertThat(uapi.resolve(ifname + ".sock")).doesNotExist();
        long chosen = System.nanoTime();
        Files.writeString(uapi.resolve(ifname + ".owner"), "userspace\n");
        await().atMost(Liveness.BOUND).pollInterval(20, TimeUnit.MILLISECONDS).until(() -> Files.exists(uapi.resolve(ifname + ".sock")));
        System.out.printf("userspace datapath serving %.2f s after the owner was recorded (standby poll + start)%n", (System.nanoTime() - chosen) / 1e9);
        assertThat(host.in(ns, "ip", "link", "show", ifname)).contains(ifname);
        assertThat(serving.isAlive()).isTrue();

        // A live switch to the kernel module, as the node-daemon does it: owner first, then the TUN goes.
        // The datapath ends with its TUN and the container goes back to standing by (no restart, no new TUN).
        Files.writeString(uapi.resolve(ifname + ".owner"), "kernel\n");
        Host.sh("ip", "-n", ns, "link", "del", ifname);
        await().atMost(Liveness.BOUND).until(() -> host.log("serving.log").contains("moved " + ifname + " to the kernel module")
                && host.log("serving.log").lastIndexOf("standing by") > host.log("serving.log").indexOf("moved " + ifname));
        Thread.sleep(1000);
        assertThat(serving.isAlive()).as("the container stands by instead of exiting").isTrue();
        assertThat(Commands.run(List.of("ip", "-n", ns, "link", "show", ifname), null, null).exit()).as("no TUN while the kernel owns it").isNotZero();
        assertThat(uapi.resolve(ifname + ".sock")).doesNotExist();
        // And back to userspace: the same container serves again.
        long back = System.nanoTime();
        Files.writeString(uapi.resolve(ifname + ".owner"), "userspace\n");
        await().atMost(Liveness.BOUND).pollInterval(20, TimeUnit.MILLISECONDS).until(() -> Files.exists(uapi.resolve(ifname + ".sock")));
        System.out.printf("switched back: userspace datapath serving %.2f s after the owner was recorded%n", (System.nanoTime() - back) / 1e9);
        assertThat(host.in(ns, "ip", "link", "show", ifname)).contains(ifname);
        long t1 = System.nanoTime();
        serving.toHandle().destroy();
        assertThat(serving.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("a serving datapath ends on SIGTERM (how soon: printed)").isTrue();
        System.out.printf("serving datapath ended %.1f s after SIGTERM (exit %d)%n", (System.nanoTime() - t1) / 1e9, serving.exitValue());
    }

    /** The datapath container's command from the rendered chart: {@code /bin/sh -c SCRIPT IFNAME}. */
    static List<String> renderedCommand() throws Exception {
        var objects = KubeApiServer.client().load(new ByteArrayInputStream(ChartTest.render(false).getBytes(StandardCharsets.UTF_8))).items();
        DaemonSet ds = objects.stream().filter(o -> o instanceof DaemonSet d && d.getMetadata().getName().startsWith("wiremesh-datapath-"))
                .map(o -> (DaemonSet) o).findFirst().orElseThrow();
        List<String> rendered = ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getCommand();
        assertThat(rendered.subList(0, 2)).containsExactly("/bin/sh", "-c");
        return rendered;
    }

    /** The shell script of the datapath container's command (its {@code $0} is the interface name). */
    static String renderedScript() throws Exception {
        return renderedCommand().get(2);
    }

    /** The datapath container's command from the rendered chart, run in the test's namespace with the host's busybox as /bin/sh. */
    private List<String> datapathCommand(String ns) throws Exception {
        List<String> rendered = renderedCommand();
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "busybox", "sh"));
        for (String arg : rendered.subList(1, rendered.size())) {
            cmd.add(arg.replace("/opt/wiremesh/bin/wiremesh-wg", Host.ROOT.resolve("bin/wiremesh-wg").toString()));
        }
        // The interface argument, renamed so the test never touches a real wiremesh0.
        cmd.set(cmd.size() - 1, ifname);
        return cmd;
    }
}
