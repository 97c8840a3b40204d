package io.wiremesh.node.egress;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Applies {@link MasqueradeTable} scripts with the {@code nft} tool ({@code nft -f -}: one atomic
 * transaction). Netfilter is the one subsystem wiremesh drives through its own command-line tool, as
 * kube-proxy, flannel and Calico do; everything else is netlink. A script whose digest the table
 * already carries is not applied again.
 */
public final class Nft {
    private final List<String> nft;
    private volatile String applied;

    /** @param nft the command that runs nft (its path, possibly behind a wrapper such as {@code ip netns exec NS}) */
    public Nft(List<String> nft) {
        this.nft = List.copyOf(nft);
    }

    /** The nft on this system: /usr/sbin/nft or /sbin/nft when present, else whatever PATH has. */
    public static Nft onThisSystem() {
        for (String p : List.of("/usr/sbin/nft", "/sbin/nft")) if (Files.isExecutable(Path.of(p))) return new Nft(List.of(p));
        return new Nft(List.of("nft"));
    }

    /**
     * Makes the table what {@code script} says, unless it already is.
     *
     * @return true when the script was applied, false when the table already matched
     * @throws IOException when nft is missing or refuses the script (its message included)
     */
    public synchronized boolean apply(String script) throws IOException {
        String want = MasqueradeTable.digest(script);
        if (applied == null) applied = currentDigest();
        if (want != null ? want.equals(applied) : applied == null) return false;
        run(script, "-f", "-");
        applied = want;
        return true;
    }

    /** Removes the table (if any). */
    public synchronized void remove() throws IOException {
        run(MasqueradeTable.removal(), "-f", "-");
        applied = null;
    }

    /** The digest in the comment of the table as the kernel has it, or null when there is no such table. */
    String currentDigest() throws IOException {
        Result r = exec(null, "list", "table", "inet", "wiremesh");
        if (r.exit != 0) return null; // no table (nft says "No such file or directory")
        int i = r.out.indexOf("comment \"");
        if (i < 0) return "";
        return r.out.substring(i + 9, r.out.indexOf('"', i + 9));
    }

    private void run(String stdin, String... args) throws IOException {
        Result r = exec(stdin, args);
        if (r.exit != 0) throw new IOException("nft " + String.join(" ", args) + " failed (exit " + r.exit + "): " + r.out.strip());
    }

    private record Result(int exit, String out) {}

    private Result exec(String stdin, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(nft);
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + String.join(" ", nft) + " (the node image must carry nftables' nft): " + e.getMessage(), e);
        }
        try (var in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("nft did not finish within 30 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running nft");
        }
        return new Result(p.exitValue(), out);
    }
}
