package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The kernel datapath against the real WireGuard module: a VM boots Debian's kernel and runs the
 * node-daemon's own KernelDevice (the node-daemon test class KernelGenlProbe), checked against the unmodified
 * {@code wg} tool, including a 1,000-peer device whose dump spans many netlink messages.
 */
class KernelGenlIT {
    @Test
    void theNodeDaemonsKernelCodeAgreesWithWgOnTheRealModule() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (qemu, 9p shares)");
        Path jar;
        try (Stream<Path> s = Files.list(KernelVm.ROOT.resolve("node-daemon/target"))) {
            jar = s.filter(p -> p.getFileName().toString().matches("wiremesh-node-daemon-.*-all\\.jar")).findFirst().orElse(null);
        }
        assumeTrue(jar != null, "needs the packaged node-daemon (mvn verify)");
        KernelVm.prepare();
        Path share = Files.createTempDirectory("wmt-kernel");
        try {
            Files.copy(jar, share.resolve("node-daemon.jar"));
            copyTree(KernelVm.ROOT.resolve("node-daemon/target/test-classes"), share.resolve("test-classes"));
            Files.writeString(share.resolve("probe.sh"), """
                    /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \\
                      -cp /share/test-classes:/share/node-daemon.jar io.wiremesh.node.wg.KernelGenlProbe > /share/probe.out 2>&1
                    """);
            long t0 = System.nanoTime();
            KernelVm.Result r = KernelVm.run(share, "probe.sh", 512, 300);
            String probe = Files.exists(share.resolve("probe.out")) ? Files.readString(share.resolve("probe.out")) : "(no output)";
            System.out.printf("kernel VM: probe finished in %.1f s (exit %d)%n%s%n", (System.nanoTime() - t0) / 1e9, r.exit(), probe);
            assertThat(r.exit()).as("guest exit; console:\n%s", r.console()).isZero();
            assertThat(probe).contains("ALL CHECKS PASSED").doesNotContain("FAIL", "MISMATCH");
        } finally {
            try (Stream<Path> s = Files.walk(share)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }
}
