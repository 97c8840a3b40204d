package io.wiremesh.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the tools tests check the product with (ip, wg, nft, tcpdump, ...), in the test's own namespaces. */
public final class Commands {
    /** How long a command may run before it is killed. */
    public static final long TIMEOUT_SECONDS = 120;

    private Commands() {}

    /** Exit code and output (stdout and stderr together) of a command. */
    public record Result(int exit, String out) {}

    /**
     * Runs {@code cmd} with {@code env} added to this process's environment (null: none) and
     * {@code stdin} written to it (null: none), waiting up to {@link #TIMEOUT_SECONDS}; a command
     * that outlives it is killed and reported with exit code -1.
     */
    public static Result run(List<String> cmd, Map<String, String> env, String stdin) throws Exception {
        // The output goes to a file, not a pipe: a command that hangs with its output open is still killed in time.
        java.nio.file.Path output = java.nio.file.Files.createTempFile("wiremesh-cmd", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
            if (env != null) pb.environment().putAll(env);
            Process p = pb.start();
            if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            boolean ended = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!ended) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            String out = java.nio.file.Files.readString(output, StandardCharsets.UTF_8);
            return new Result(ended ? p.exitValue() : -1, out);
        } finally {
            java.nio.file.Files.deleteIfExists(output);
        }
    }

    /**
     * Runs {@code cmd} and returns its output.
     *
     * @throws IllegalStateException naming the command, its exit code and its output when it fails
     */
    public static String sh(String... cmd) throws Exception {
        return sh(Arrays.asList(cmd), null);
    }

    /** {@link #sh(String...)} with {@code stdin} written to the command. */
    public static String sh(List<String> cmd, String stdin) throws Exception {
        Result r = run(cmd, null, stdin);
        if (r.exit() != 0) throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exit() + ": " + r.out());
        return r.out();
    }

    /** {@link #sh(String...)} inside network namespace {@code ns} ({@code ip netns exec NS ...}). */
    public static String in(String ns, String... cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(Arrays.asList(cmd));
        return sh(full.toArray(String[]::new));
    }
}
