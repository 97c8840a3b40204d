package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The cluster of {@code bin/wiremesh-local}, driven from outside as a user would: the script brings
 * it up and down, kubectl and the Fabric8 client talk to its API server, and {@code wg}, {@code ip}
 * and {@code tcpdump} look at nodes and the underlay through their namespaces.
 */
final class LocalCluster implements AutoCloseable {
    static final Path DIR = Path.of(System.getenv().getOrDefault("WIREMESH_LOCAL_DIR", "/var/lib/wiremesh-local"));
    static final Path KUBECTL = Path.of("/var/cache/wiremesh/k8s-1.20.2/bin/kubectl");
    static final String TEST_NS = "wiremesh-test";
    static final String SYSTEM_NS = "wiremesh-system";
    static final String UNDERLAY_FILTER = "(ip or ip6) and not host 198.19.0.1 and not (ip6 and net fe80::/10)";
    private static final Path SCRIPT = Host.ROOT.resolve("bin/wiremesh-local");
    private static final Path LOGS = Host.ROOT.resolve("e2e/target/wiremesh-local");

    final KubernetesClient client;
    private final boolean owned;

    private LocalCluster(boolean owned) throws Exception {
        this.owned = owned;
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(DIR.resolve("admin.kubeconfig")))).build();
    }

    /**
     * Brings up a cluster of {@code nodes} nodes and takes it down on {@link #close()}. A cluster that is
     * already up is someone else's: it is used (and left running) only when WIREMESH_LOCAL_REUSE=1.
     */
    static LocalCluster up(int nodes) throws Exception {
        if (Files.exists(DIR.resolve("admin.kubeconfig"))) {
            if ("1".equals(System.getenv("WIREMESH_LOCAL_REUSE"))) return new LocalCluster(false);
            throw new IllegalStateException("a local cluster is already running (" + DIR + "): stop it with bin/wiremesh-local down,"
                    + " or set WIREMESH_LOCAL_REUSE=1 to run the suite on it");
        }
        try {
            script("up", "--nodes", String.valueOf(nodes), "--pods", "1");
            return new LocalCluster(true);
        } catch (Exception e) {
            script("down"); // a half-made cluster is removed too
            throw e;
        }
    }

    /** Runs bin/wiremesh-local with its output in e2e/target/wiremesh-local/*.log; fails with the log's tail. */
    static String script(String... args) throws Exception {
        Files.createDirectories(LOGS);
        Path log = LOGS.resolve(String.join("-", args).replace("--", "") + ".log");
        List<String> cmd = new ArrayList<>(List.of(SCRIPT.toString()));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("WIREMESH_LOCAL_LOGS", LOGS.resolve("components").toString());
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("wiremesh-local " + String.join(" ", args) + " timed out; log: " + log);
        }
        String out = Files.readString(log);
        System.out.println(out);
        if (p.exitValue() != 0) throw new IllegalStateException("wiremesh-local " + String.join(" ", args) + " failed:\n" + out);
        return out;
    }

    String kubectl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(KUBECTL.toString(), "--kubeconfig", DIR.resolve("admin.kubeconfig").toString()));
        cmd.addAll(Arrays.asList(args));
        return Host.sh(cmd.toArray(String[]::new));
    }

    /** kubectl exec in a test pod; returns output and exit code (ping failing is an answer, not an error). */
    Commands.Result exec(String pod, String... cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of(KUBECTL.toString(), "--kubeconfig", DIR.resolve("admin.kubeconfig").toString(),
                "-n", TEST_NS, "exec", pod, "--"));
        full.addAll(Arrays.asList(cmd));
        return Commands.run(full, null, null);
    }

    /** The command as it runs on node n: its network, mount and UTS namespaces (its /var/run/wireguard, its routes, its hostname). */
    static List<String> onNode(int n, String... cmd) {
        List<String> full = new ArrayList<>(List.of("nsenter", "--net=/run/netns/wml-n" + n, "--mount=" + DIR.resolve("ns/n" + n + ".mnt"),
                "--uts=" + DIR.resolve("ns/n" + n + ".uts")));
        full.addAll(Arrays.asList(cmd));
        return full;
    }

    String onNodeSh(int n, String... cmd) throws Exception {
        return Host.sh(onNode(n, cmd).toArray(String[]::new));
    }

    /** Public keys of the peers of node n's WireGuard interface, read with the unmodified `wg` tool. */
    Set<String> wgPeers(int n) throws Exception {
        Commands.Result r = Commands.run(onNode(n, "wg", "show", "wiremesh0", "peers"), null, null);
        return r.exit() == 0 ? new TreeSet<>(r.out().lines().map(String::trim).filter(l -> !l.isEmpty()).toList()) : Set.of();
    }

    String podIp(String pod) {
        return client.pods().inNamespace(TEST_NS).withName(pod).get().getStatus().getPodIP();
    }

    /**
     * tcpdump on node n's port of the underlay switch, without its control-plane traffic and without the
     * node's own IPv6 link-local chatter (router solicitations): everything else there is traffic between nodes.
     */
    Process capture(int n, Path file) throws Exception {
        // --immediate-mode: a short capture (a request or two) must not lose what is still in the kernel's buffer block when stopped.
        Process p = new ProcessBuilder("nsenter", "--net=/run/netns/wml-ul", "tcpdump", "-i", "wml-n" + n + "-ul", "-n", "-U", "--immediate-mode", "-w", file.toString(),
                UNDERLAY_FILTER).redirectErrorStream(true).redirectOutput(file.resolveSibling(file.getFileName() + ".log").toFile()).start();
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while (!Files.readString(file.resolveSibling(file.getFileName() + ".log")).contains("listening on") && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        return p;
    }

    /**
     * tcpdump on the underlay switch's own port (wml-br, 198.19.0.1: the gateway of every node's default
     * route, so whatever a node would send in clear off-mesh arrives here), with a BPF filter.
     */
    Process captureSwitch(Path file, String filter) throws Exception {
        Path log = file.resolveSibling(file.getFileName() + ".log");
        Files.deleteIfExists(log);
        Process p = new ProcessBuilder("nsenter", "--net=/run/netns/wml-ul", "tcpdump", "-i", "wml-br", "-n", "-U", "--immediate-mode", "-w", file.toString(),
                filter).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while ((!Files.exists(log) || !Files.readString(log).contains("listening on")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        return p;
    }

    /** Stops a capture and returns its packets, one tcpdump line each. */
    static List<String> packets(Process capture, Path file) throws Exception {
        Thread.sleep(500);
        capture.destroy();
        capture.waitFor(10, TimeUnit.SECONDS);
        return Host.sh("tcpdump", "-r", file.toString(), "-n").lines().filter(l -> !l.isEmpty() && Character.isDigit(l.charAt(0))).toList();
    }

    @Override
    public void close() throws Exception {
        client.close();
        if (owned) script("down");
    }
}
