package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The namespaces and processes of one test, all removed by {@link #close()} even when the test fails (commands: {@link Commands}). */
final class Host implements AutoCloseable {
    static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    final Path dir;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<ProposalAcceptor> acceptors = new ArrayList<>();

    Host() throws Exception {
        dir = Files.createTempDirectory("wmt-e2e");
    }

    static String sh(String... cmd) throws Exception {
        return Commands.sh(cmd);
    }

    String in(String ns, String... cmd) throws Exception {
        return Commands.in(ns, cmd);
    }

    String ns(String name) throws Exception {
        sh("ip", "netns", "add", name);
        namespaces.add(name);
        sh("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    Process spawn(String logName, Map<String, String> env, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile());
        if (env != null) pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    static void stop(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Lets node namespaces reach the test API server (root namespace loopback) through a unix socket in
     * this host's directory; returns the environment (KUBECONFIG) node processes run with. Each node
     * then needs {@link #apiServerInto}.
     */
    Map<String, String> apiServerBridge() throws Exception {
        spawn("socat-root.log", null, "socat", "UNIX-LISTEN:" + dir.resolve("api.sock") + ",fork,mode=600",
                "TCP:127.0.0.1:" + io.wiremesh.testing.KubeApiServer.port());
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, io.wiremesh.testing.KubeApiServer.kubeconfig());
        return Map.of("KUBECONFIG", kubeconfig.toString());
    }

    /** The API server at 127.0.0.1:its port inside namespace {@code ns}, through {@link #apiServerBridge}'s socket. */
    void apiServerInto(String ns) throws Exception {
        spawn("socat-" + ns + ".log", null, "ip", "netns", "exec", ns, "socat", "TCP-LISTEN:" + io.wiremesh.testing.KubeApiServer.port()
                + ",bind=127.0.0.1,fork,reuseaddr", "UNIX-CONNECT:" + dir.resolve("api.sock"));
    }

    /** Accepts the signed proposals of {@code mesh}'s nodes into their specs as the operator does ({@link ProposalAcceptor}), until {@link #close}. */
    void acceptProposals(io.fabric8.kubernetes.client.KubernetesClient client, String mesh) {
        acceptors.add(new ProposalAcceptor(client, mesh));
    }

    String log(String name) throws Exception {
        Path f = dir.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() throws Exception {
        for (ProposalAcceptor a : acceptors) a.close();
        for (Process p : processes.reversed()) stop(p);
        for (String n : namespaces.reversed()) Commands.run(List.of("ip", "netns", "del", n), null, null);
        try (var f = Files.walk(dir)) {
            f.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
