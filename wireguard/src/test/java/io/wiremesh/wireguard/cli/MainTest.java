package io.wiremesh.wireguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.uapi.InterfaceOwner;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    @TempDir
    Path dir;

    @Test
    void theDatapathStandsByUntilTheNodeDaemonChoosesUserspace() throws Exception {
        Thread gate = Thread.ofPlatform().daemon().start(() -> {
            try {
                Main.awaitUserspaceOwner(dir, "wiremesh0", 20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.sleep(200);
        assertThat(gate.isAlive()).as("no owner recorded yet").isTrue();
        InterfaceOwner.KERNEL.record(dir, "wiremesh0");
        Thread.sleep(200);
        assertThat(gate.isAlive()).as("the kernel module owns the interface").isTrue();
        java.nio.file.Files.writeString(InterfaceOwner.path(dir, "wiremesh0"), "garbage\n");
        Thread.sleep(200);
        assertThat(gate.isAlive()).as("an unreadable record").isTrue();
        InterfaceOwner.USERSPACE.record(dir, "wiremesh0");
        gate.join(Liveness.BOUND.toMillis());
        assertThat(gate.isAlive()).as("userspace chosen").isFalse();
    }
}
