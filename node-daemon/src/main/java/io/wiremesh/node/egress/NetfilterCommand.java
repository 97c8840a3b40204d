package io.wiremesh.node.egress;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs one of netfilter's own tools (nft, conntrack): the only commands the node-daemon runs. */
final class NetfilterCommand {
    /** Exit status and merged stdout/stderr. */
    record Result(int exit, String out) {}

    private NetfilterCommand() {}

    /**
     * Runs {@code command} with {@code stdin} (may be null), waiting at most 30 s.
     *
     * @throws IOException when the tool cannot be started (the message says the node image must carry it), or hangs
     */
    static Result run(List<String> command, String stdin) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + command.getFirst() + " (the node image must carry it): " + e.getMessage(), e);
        }
        try (var in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.getFirst() + " did not finish within 30 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.getFirst());
        }
        return new Result(p.exitValue(), out);
    }
}
