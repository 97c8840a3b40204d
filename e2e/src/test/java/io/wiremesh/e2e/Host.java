package io.wiremesh.e2e;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Commands, namespaces and processes of one test, all removed by {@link #close()} even when the test fails. */
final class Host implements AutoCloseable {
    static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    final Path dir;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    Host() throws Exception {
        dir = Files.createTempDirectory("wmt-e2e");
    }

    record Result(int exit, String out) {}

    static Result run(List<String> cmd, Map<String, String> env, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (env != null) pb.environment().putAll(env);
        Process p = pb.start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) p.destroyForcibly();
        return new Result(p.exitValue(), out);
    }

    static String sh(String... cmd) throws Exception {
        Result r = run(Arrays.asList(cmd), null, null);
        if (r.exit() != 0) throw new IllegalStateException(Arrays.toString(cmd) + " exited " + r.exit() + ": " + r.out());
        return r.out();
    }

    String in(String ns, String... cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(Arrays.asList(cmd));
        return sh(full.toArray(String[]::new));
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

    String log(String name) throws Exception {
        Path f = dir.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes.reversed()) stop(p);
        for (String n : namespaces.reversed()) run(List.of("ip", "netns", "del", n), null, null);
        try (var f = Files.walk(dir)) {
            f.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
