package io.wiremesh.node.egress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Applies {@link MasqueradeTable} scripts (and those of wiremesh's other tables, {@link #forTable}) with the {@code nft} tool ({@code nft -f -}: one atomic
 * transaction). Netfilter is the one subsystem wiremesh drives through its own command-line tool, as
 * kube-proxy, flannel and Calico do; everything else is netlink. A script whose digest the table
 * already carries is not applied again.
 */
public final class Nft {
    private final List<String> nft;
    /** The table the scripts replace, as nft names it ("inet wiremesh"). */
    private final String table;
    private volatile String applied;

    /** @param nft the command that runs nft (its path, possibly behind a wrapper such as {@code ip netns exec NS}) */
    public Nft(List<String> nft) {
        this(nft, MasqueradeTable.TABLE);
    }

    private Nft(List<String> nft, String table) {
        this.nft = List.copyOf(nft);
        this.table = table;
    }

    /**
     * The same nft for another table of wiremesh's (e.g. the NetworkPolicy table), whose scripts follow the same form:
     * a first line "# DIGEST", the table re-created with that digest as its comment.
     */
    public Nft forTable(String familyAndName) {
        return new Nft(nft, familyAndName);
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
        if (want == null) want = NO_TABLE;
        if (applied == null) applied = currentDigest();
        if (want.equals(applied)) return false;
        run(script, "-f", "-");
        applied = want;
        return true;
    }

    /**
     * The script that makes table {@code familyAndName} hold exactly {@code body} (sets, maps, chains): one transaction
     * that declares, deletes and re-creates it (atomic: never a moment without rules). Its first line, "# DIGEST", names
     * the digest the table then carries as its comment, which {@link #apply} compares to skip unchanged tables.
     */
    public static String replacing(String familyAndName, String body) {
        String digest;
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            digest = "wiremesh-sha256:" + java.util.HexFormat.of().formatHex(h, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return "# " + digest + "\n"
                + removal(familyAndName)
                + "table " + familyAndName + " {\n"
                + "  comment \"" + digest + "\"\n"
                + body
                + "}\n";
    }

    /** The script that removes table {@code familyAndName} if it exists (declaring it first makes the delete never fail). */
    public static String removal(String familyAndName) {
        return "table " + familyAndName + " {}\ndelete table " + familyAndName + "\n";
    }

    /** Whether the table already is what {@code script} says (its digest), so {@link #apply} would write nothing. */
    public synchronized boolean holds(String script) throws IOException {
        String want = MasqueradeTable.digest(script);
        if (want == null) want = NO_TABLE;
        if (applied == null) applied = currentDigest();
        return want.equals(applied);
    }

    /**
     * The named counters of the table, as nft's JSON ({@code nft -j list counters table ...}).
     *
     * @throws IOException when nft fails (e.g. no such table)
     */
    public String counters() throws IOException {
        String[] familyAndName = table.split(" ");
        NetfilterCommand.Result r = exec(null, "-j", "list", "counters", "table", familyAndName[0], familyAndName[1]);
        if (r.exit() != 0) throw new IOException("nft list counters failed (exit " + r.exit() + "): " + r.out().strip());
        return r.out();
    }

    /** Removes the table (if any). */
    public synchronized void remove() throws IOException {
        run(removal(table), "-f", "-");
        applied = NO_TABLE;
    }

    /**
     * Forgets what was applied, so the next {@link #apply} compares with the kernel again (someone may have
     * flushed the ruleset, e.g. a reload of /etc/nftables.conf, which starts with "flush ruleset").
     */
    public synchronized void forget() {
        applied = null;
    }

    /** What {@link #currentDigest} says when the kernel has no such table. */
    static final String NO_TABLE = "-";

    /** The digest in the comment of the table as the kernel has it; {@link #NO_TABLE} when there is none, "" without a comment. */
    String currentDigest() throws IOException {
        String[] familyAndName = table.split(" ");
        NetfilterCommand.Result r = exec(null, "list", "table", familyAndName[0], familyAndName[1]);
        if (r.exit() != 0) return NO_TABLE; // nft says "No such file or directory"
        int i = r.out().indexOf("comment \"");
        if (i < 0) return "";
        return r.out().substring(i + 9, r.out().indexOf('"', i + 9));
    }

    private void run(String stdin, String... args) throws IOException {
        NetfilterCommand.Result r = exec(stdin, args);
        if (r.exit() != 0) throw new IOException("nft " + String.join(" ", args) + " failed (exit " + r.exit() + "): " + r.out().strip());
    }

    private NetfilterCommand.Result exec(String stdin, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(nft);
        cmd.addAll(List.of(args));
        return NetfilterCommand.run(cmd, stdin);
    }
}
