package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
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
 * userspace interface up once the owner is userspace. The kernel side of the decision (auto picks
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
        await().atMost(30, TimeUnit.SECONDS).until(() -> host.log("standby.log").contains("standing by"));
        Thread.sleep(1000);
        assertThat(standby.isAlive()).isTrue();
        assertThat(Host.run(List.of("ip", "-n", ns, "link", "show", ifname), null, null).exit()).as("no interface on a kernel node").isNotZero();
        assertThat(uapi.resolve(ifname + ".sock")).doesNotExist();
        long t0 = System.nanoTime();
        standby.toHandle().destroy(); // SIGTERM to the container's first process, as the kubelet sends it
        assertThat(standby.waitFor(5, TimeUnit.SECONDS)).as("a standing-by datapath ends on SIGTERM, not after the grace period").isTrue();
        System.out.printf("standby ended %.1f s after SIGTERM (exit %d)%n", (System.nanoTime() - t0) / 1e9, standby.exitValue());

        // Userspace node: nothing recorded at first (the node-daemon starts at the same time), then userspace.
        Files.delete(uapi.resolve(ifname + ".owner"));
        Process serving = host.spawn("serving.log", env, command.toArray(String[]::new));
        await().atMost(30, TimeUnit.SECONDS).until(() -> host.log("serving.log").contains("waiting for the node-daemon"));
        assertThat(uapi.resolve(ifname + ".sock")).doesNotExist();
        Files.writeString(uapi.resolve(ifname + ".owner"), "userspace\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> Files.exists(uapi.resolve(ifname + ".sock")));
        assertThat(host.in(ns, "ip", "link", "show", ifname)).contains(ifname);
        assertThat(serving.isAlive()).isTrue();
    }

    /** The datapath container's command from the rendered chart, run in the test's namespace with the host's busybox as /bin/sh. */
    private List<String> datapathCommand(String ns) throws Exception {
        var objects = ApiServer.client().load(new ByteArrayInputStream(ChartTest.render(false).getBytes(StandardCharsets.UTF_8))).items();
        DaemonSet ds = objects.stream().filter(o -> o instanceof DaemonSet d && d.getMetadata().getName().endsWith("-datapath"))
                .map(o -> (DaemonSet) o).findFirst().orElseThrow();
        List<String> rendered = ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getCommand();
        assertThat(rendered.getFirst()).isEqualTo("/bin/sh");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "busybox", "sh"));
        for (String arg : rendered.subList(1, rendered.size())) {
            cmd.add(arg.replace("/opt/wiremesh/bin/wiremesh-wg", Host.ROOT.resolve("bin/wiremesh-wg").toString()));
        }
        // The interface argument, renamed so the test never touches a real wiremesh0.
        cmd.set(cmd.size() - 1, ifname);
        return cmd;
    }
}
