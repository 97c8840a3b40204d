package io.wiremesh.wireguard.interop;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wiremesh.testing.Liveness;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces, links and processes for one test, all created here and all removed by
 * {@link #close()} even when the test fails. Nothing touches the root namespace's addresses or
 * routes; interface names are unique per lab because /var/run/wireguard is shared by all namespaces.
 */
final class Lab implements AutoCloseable {
    static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    static final Path WIREMESH_WG = ROOT.resolve("bin/wiremesh-wg");
    /** The current wireguard-go (bookworm-backports: batched I/O, TUN and UDP offloads), fetched by scripts/wireguard-go-current.sh. */
    static final Path WIREGUARD_GO_CURRENT = Path.of("/var/cache/wiremesh/wireguard-go-bpo/root/usr/bin/wireguard-go");

    final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()).substring(0, 4);
    final Path dir;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<String> interfaces = new ArrayList<>();

    Lab() throws IOException {
        dir = Files.createTempDirectory("wmt-" + id);
    }

    /** Skips (with the reason) where the machine cannot host the lab; CI installs everything, so there it runs. */
    static void assumeCapable() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        assumeTrue(Files.isReadable(Path.of("/dev/net/tun")), "needs /dev/net/tun");
        for (String tool : List.of("ip", "wg", "wireguard-go", "tcpdump", "socat", "ping")) {
            assumeTrue(onPath(tool), "needs " + tool + " (installed by .ci/run)");
        }
        assumeTrue(Files.exists(ROOT.resolve("wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar")),
                "needs the packaged jar (run through mvn verify)");
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv("PATH").split(":")) if (Files.isExecutable(Path.of(d, tool))) return true;
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    /** Creates namespace wmt-ID-NAME with loopback up. */
    String ns(String name) throws Exception {
        String ns = "wmt-" + id + "-" + name;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /** A veth pair between two namespaces with the given CIDR addresses; returns the two link names. */
    String[] link(String nsA, String cidrA, String nsB, String cidrB) throws Exception {
        String la = "wv" + id + "a" + namespaces.size();
        String lb = "wv" + id + "b" + namespaces.size();
        sh("ip", "link", "add", la, "netns", nsA, "type", "veth", "peer", "name", lb, "netns", nsB);
        // IPv4-only underlay: no IPv6 neighbour discovery noise in captures.
        in(nsA, "sysctl", "-qw", "net.ipv6.conf." + la + ".disable_ipv6=1");
        in(nsB, "sysctl", "-qw", "net.ipv6.conf." + lb + ".disable_ipv6=1");
        sh("ip", "-n", nsA, "addr", "add", cidrA, "dev", la);
        sh("ip", "-n", nsB, "addr", "add", cidrB, "dev", lb);
        sh("ip", "-n", nsA, "link", "set", la, "up");
        sh("ip", "-n", nsB, "link", "set", lb, "up");
        return new String[] {la, lb};
    }

    /** A unique WireGuard interface name (<= 15 characters). */
    String ifname(String tag) {
        String n = "wm" + tag + id;
        interfaces.add(n);
        return n;
    }

    /** JAVA: bin/wiremesh-wg; GO: Debian bookworm's wireguard-go (2022); GO_CURRENT: the 2023 one with offloads. */
    enum Impl { JAVA, GO, GO_CURRENT }

    /** Skips (with the reason) where the current wireguard-go was not fetched; .ci/run fetches it. */
    static void assumeCurrentWireguardGo() {
        assumeTrue(Files.isExecutable(WIREGUARD_GO_CURRENT), "needs " + WIREGUARD_GO_CURRENT + " (scripts/wireguard-go-current.sh, run by .ci/run)");
    }

    /** Starts a userspace WireGuard interface in {@code ns} and waits for its UAPI socket. */
    Process startInterface(Impl impl, String ns, String ifname) throws Exception {
        Path sock = Path.of("/var/run/wireguard", ifname + ".sock");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        if (impl == Impl.JAVA) cmd.addAll(List.of(WIREMESH_WG.toString(), "-f", ifname));
        else if (impl == Impl.GO) cmd.addAll(List.of("wireguard-go", "-f", ifname));
        else cmd.addAll(List.of(WIREGUARD_GO_CURRENT.toString(), "-f", ifname));
        Process p = spawn(cmd, dir.resolve(ifname + ".log"));
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while (!Files.exists(sock)) {
            if (!p.isAlive()) throw new IllegalStateException(impl + " " + ifname + " exited: " + log(ifname));
            if (System.nanoTime() > deadline) throw new IllegalStateException(impl + " " + ifname + " did not start: " + log(ifname));
            Thread.sleep(50);
        }
        return p;
    }

    String log(String ifname) throws IOException {
        Path f = dir.resolve(ifname + ".log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    Process spawn(List<String> cmd, Path logFile) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        processes.add(p);
        return p;
    }

    Process spawnIn(String ns, String logName, String... cmd) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(Arrays.asList(cmd));
        return spawn(full, dir.resolve(logName));
    }

    /** Writes a new private key file and returns {privateKeyPath, publicKeyBase64}. */
    String[] keypair(String name) throws Exception {
        Path priv = dir.resolve(name + ".key");
        Files.writeString(priv, sh("wg", "genkey").trim() + "\n");
        String pub = run(List.of("wg", "pubkey"), Files.readString(priv)).trim();
        return new String[] {priv.toString(), pub};
    }

    /** Runs a command, returns stdout, throws with the output when it fails. */
    static String sh(String... cmd) throws Exception {
        return run(Arrays.asList(cmd), null);
    }

    String in(String ns, String... cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(Arrays.asList(cmd));
        return run(full, null);
    }

    static String run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        if (p.exitValue() != 0) throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + out);
        return out;
    }

    /** Resident set size of a process in KiB (for the process itself, not the ip-netns-exec wrapper's children). */
    static long rssKib(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
        }
        return -1;
    }

    @Override
    public void close() {
        for (Process p : processes.reversed()) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String ns : namespaces.reversed()) {
            try {
                sh("ip", "netns", "del", ns);
            } catch (Exception e) {
                System.err.println("cleanup: " + e.getMessage());
            }
        }
        for (String i : interfaces) {
            try {
                Files.deleteIfExists(Path.of("/var/run/wireguard", i + ".sock"));
            } catch (IOException ignored) {
                // best effort
            }
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp files
        }
    }
}
