package io.wiremesh.wireguard.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** wiremesh-wg as wireguard-go is used: backgrounds itself without -f, and exits when its interface is deleted. */
class LifecycleIT extends LabTest {
    private String ifname;


    @AfterEach
    void stopDaemon() {
        // The daemon is ours (started below) but no longer our child: find it by its unique interface name.
        if (ifname != null) daemon(ifname).ifPresent(ProcessHandle::destroyForcibly);
    }

    private static Optional<ProcessHandle> daemon(String ifname) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains(ifname) && List.of(a).contains("-f")).orElse(false))
                .findFirst();
    }

    @Test
    void backgroundsItselfAndExitsWhenTheInterfaceIsDeleted() throws Exception {
        String ns = lab.ns("life");
        ifname = lab.ifname("l");
        lab.in(ns, Lab.WIREMESH_WG.toString(), ifname); // returns once the interface is ready
        Path sock = Path.of("/var/run/wireguard", ifname + ".sock");
        assertThat(sock).exists();
        assertThat(lab.in(ns, "ip", "link", "show", ifname)).contains(ifname).contains("mtu 1420");
        assertThat(daemon(ifname)).isPresent();

        lab.in(ns, "ip", "link", "del", ifname);
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while ((Files.exists(sock) || daemon(ifname).isPresent()) && System.nanoTime() < deadline) Thread.sleep(100);
        assertThat(sock).doesNotExist();
        assertThat(daemon(ifname)).isEmpty();
    }
}
