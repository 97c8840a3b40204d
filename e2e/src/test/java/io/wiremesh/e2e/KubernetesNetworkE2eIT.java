package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Commands;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Kubernetes' own network e2e tests (v1.20.2) judge wiremesh on a 2-node local cluster: the
 * representative part that {@code scripts/k8s-e2e.sh run --ci} selects (pod-pod, pod-node and
 * node-pod over http and udp, Services by ClusterIP and NodePort, hostPort, conntrack, cluster DNS).
 * Every test the selection names must pass: one that failed, or was skipped by the suite itself,
 * fails this test. The whole selection is {@code scripts/k8s-e2e.sh run --all} (README).
 */
class KubernetesNetworkE2eIT {
    private static final Path SCRIPT = Host.ROOT.resolve("scripts/k8s-e2e.sh");
    private static final Path REPORT = Host.ROOT.resolve("e2e/target/k8s-e2e");

    @Test
    void theRepresentativePartOfKubernetesNetworkTestsPasses() throws Exception {
        if (Files.exists(LocalCluster.DIR.resolve("admin.kubeconfig")) && !"1".equals(System.getenv("WIREMESH_LOCAL_REUSE"))) {
            throw new IllegalStateException("a local cluster is already running (" + LocalCluster.DIR + "): stop it with bin/wiremesh-local down,"
                    + " or set WIREMESH_LOCAL_REUSE=1 to run the suite on it");
        }
        Commands.Result list = Commands.run(List.of(SCRIPT.toString(), "list", "--ci"), null, null);
        assertThat(list.exit()).as("the suite is built (scripts/install-deps.sh runs scripts/k8s-e2e.sh build):\n" + list.out()).isZero();
        List<String> selected = list.out().lines().filter(l -> l.startsWith("  RUNS    ")).map(l -> l.substring(10)).toList();
        assertThat(selected).as("the CI selection").hasSizeGreaterThanOrEqualTo(10);

        Files.createDirectories(REPORT);
        Path log = REPORT.resolve("run.log");
        ProcessBuilder pb = new ProcessBuilder(SCRIPT.toString(), "run", "--ci", "--nodes", "2").redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(Map.of("WIREMESH_E2E_REPORT", REPORT.toString(), "WIREMESH_LOCAL_LOGS", REPORT.resolve("components").toString()));
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.MINUTES)) {
            p.destroy(); // the script's trap removes its namespace and the cluster it brought up
            p.waitFor(5, TimeUnit.MINUTES);
            throw new IllegalStateException("scripts/k8s-e2e.sh run --ci did not finish in 60 minutes; log: " + log);
        }
        int exit = p.exitValue();
        String out = Files.readString(log);
        System.out.println(out);
        String summary = Files.exists(REPORT.resolve("summary.txt")) ? Files.readString(REPORT.resolve("summary.txt")) : "(no summary)";
        assertThat(summary).as("passed, failed and skipped tests (suite log: " + REPORT.resolve("e2e.log") + ")").contains(", failed 0,");
        for (String name : selected) assertThat(summary).as("selected and passed").contains("  PASSED  " + name);
        assertThat(exit).as(out).isZero();
    }
}
