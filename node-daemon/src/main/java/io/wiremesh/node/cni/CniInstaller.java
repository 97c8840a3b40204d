package io.wiremesh.node.cni;

import io.wiremesh.node.StateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Installs the CNI plugin onto the host, like Calico's install-cni: hosts have no Java, so the
 * plugin goes in with its own minimal runtime (jlink) in a versioned directory, gets an AOT cache
 * made here (it is tied to the exact JDK build), and is switched in by an atomic rename of its
 * launcher; the network configuration is written last, atomically, so the runtime never sees the
 * network before the plugin works. While the daemon runs, {@link #reinstallIfChanged} puts back what
 * was removed or changed since (as Calico's install-cni does). Entries other installers chained onto the list (a
 * service mesh's plugin) are theirs: kept by every install and repair, never a reason to rewrite
 * ({@link NetworkConfigList}). Uninstalling removes the configuration.
 */
public final class CniInstaller {
    public static final String PLUGIN = "wiremesh";
    public static final String CONFLIST = "10-wiremesh.conflist";
    private final Path runtime;
    private final Path jar;
    private final Path binDir;
    private final Path confDir;
    private volatile Installed installed; // what the last install wrote
    /** What others had chained onto the list when it was last read (kept when the file is removed or unreadable). */
    private volatile NetworkConfigList.Chained chained = NetworkConfigList.Chained.NONE;

    /** The files an install wrote, with their contents, and its arguments. */
    private record Installed(Path socket, int mtu, Path runtimeMarker, Path launcher, byte[] launcherBytes, Path conflist, NetworkConfigList list) {}

    public CniInstaller(Path runtime, Path jar, Path binDir, Path confDir) {
        this.runtime = runtime;
        this.jar = jar;
        this.binDir = binDir;
        this.confDir = confDir;
    }

    /** Installs plugin, runtime, AOT cache and conflist (keeping what others chained onto it); returns the conflist path. */
    public Path install(Path socket, int mtu) throws IOException {
        Path dir = runtime(socket);
        String launcher = "#!/bin/sh\n# wiremesh CNI plugin, installed by the wiremesh node-daemon\n"
                + "exec \"" + dir + "/bin/java\" -XX:AOTCache=\"" + dir + "/wiremesh-cni.aot\" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
                + " -Xlog:disable -Xlog:all=error:stderr -jar \"" + dir + "/wiremesh-cni.jar\" \"$@\"\n";
        byte[] launcherBytes = launcher.getBytes(StandardCharsets.UTF_8);
        Path tmp = binDir.resolve("." + PLUGIN + ".tmp");
        Files.write(tmp, launcherBytes);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(tmp, binDir.resolve(PLUGIN), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (Stream<Path> old = Files.list(binDir)) {
            for (Path p : old.filter(p -> p.getFileName().toString().startsWith("wiremesh-runtime-") && !p.equals(dir)).toList()) deleteTree(p);
        }

        List<Map<String, Object>> plugins = new ArrayList<>();
        Map<String, Object> self = new LinkedHashMap<>();
        self.put("type", PLUGIN);
        self.put("socket", socket.toString());
        self.put("mtu", mtu);
        plugins.add(self);
        if (Files.isExecutable(binDir.resolve("portmap"))) {
            Map<String, Object> portmap = new LinkedHashMap<>(); // written in a stable order
            portmap.put("type", "portmap");
            portmap.put("capabilities", Map.of("portMappings", true));
            portmap.put("snat", true);
            plugins.add(portmap);
        }
        NetworkConfigList list = new NetworkConfigList("1.0.0", "wiremesh", plugins);
        Path conflist = confDir.resolve(CONFLIST);
        StateFiles.writeAtomically(conflist, list.render(chainedOnDisk(conflist)));
        Files.setPosixFilePermissions(conflist, PosixFilePermissions.fromString("rw-r--r--"));
        installed = new Installed(socket, mtu, dir.resolve(".complete"), binDir.resolve(PLUGIN), launcherBytes, conflist, list);
        return conflist;
    }

    /** What others chained onto the list at {@code conflist} now, or as last read when it is gone or not a list. */
    private NetworkConfigList.Chained chainedOnDisk(Path conflist) {
        byte[] now = read(conflist);
        NetworkConfigList.Chained found = now == null ? null : NetworkConfigList.chainedIn(now);
        if (found != null) chained = found;
        return chained;
    }

    /**
     * The plugin's runtime directory for this jar, copied and given its AOT cache first if it is not
     * complete (seconds: a JVM runs to train the cache). Puts no network configuration on the node.
     */
    public Path runtime(Path socket) throws IOException {
        String version = HexFormat.of().formatHex(digest(jar)).substring(0, 12);
        Path dir = binDir.resolve("wiremesh-runtime-" + version);
        if (!Files.exists(dir.resolve(".complete"))) {
            Path stage = binDir.resolve(".wiremesh-runtime-" + version + ".tmp");
            deleteTree(stage);
            copyTree(runtime, stage);
            Files.copy(jar, stage.resolve("wiremesh-cni.jar"), StandardCopyOption.REPLACE_EXISTING);
            train(stage, socket);
            Files.writeString(stage.resolve(".complete"), version);
            deleteTree(dir);
            Files.move(stage, dir, StandardCopyOption.ATOMIC_MOVE);
        }
        return dir;
    }

    /**
     * The files of the last {@link #install} that are no longer on the node as it wrote them
     * (removed, or their contents changed): the conflist (only wiremesh's part of it counts:
     * {@link NetworkConfigList#holds}), the plugin's launcher, its runtime. Empty when all are intact
     * or nothing was installed yet.
     */
    public List<Path> changed() {
        Installed i = installed;
        if (i == null) return List.of();
        List<Path> changed = new ArrayList<>();
        if (!Files.exists(i.runtimeMarker())) changed.add(i.runtimeMarker().getParent());
        if (!holds(i.launcher(), i.launcherBytes()) || !Files.isExecutable(i.launcher())) changed.add(i.launcher());
        byte[] conflist = read(i.conflist());
        if (conflist == null || !i.list().holds(conflist)) changed.add(i.conflist());
        else chained = NetworkConfigList.chainedIn(conflist); // intact: what others chain on is current
        return changed;
    }

    /**
     * Installs again, with the last install's arguments, when {@link #changed} finds anything: a
     * node clean-up or another network plugin's installer must not leave new pods without a network.
     *
     * @return what was found changed and has been put back (empty: nothing to do)
     * @throws IOException when the files cannot be written (the next call tries again)
     */
    public List<Path> reinstallIfChanged() throws IOException {
        List<Path> changed = changed();
        if (!changed.isEmpty()) install(installed.socket(), installed.mtu());
        return changed;
    }

    /**
     * The slow part of {@link #reinstallIfChanged} done ahead, without writing any network
     * configuration: the runtime of the last install, copied and trained again if it was removed.
     */
    public void restoreRuntime() throws IOException {
        Installed i = installed;
        if (i != null) runtime(i.socket());
    }

    private static boolean holds(Path file, byte[] expected) {
        return java.util.Arrays.equals(read(file), expected);
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException gone) {
            return null;
        }
    }

    /** One plugin run against the live daemon records the classes it needs into an AOT cache. */
    private static void train(Path dir, Path socket) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(dir.resolve("bin/java").toString(), "-XX:AOTCacheOutput=" + dir.resolve("wiremesh-cni.aot"),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", dir.resolve("wiremesh-cni.jar").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("CNI_COMMAND", "STATUS");
        Process p = pb.start();
        try {
            p.getOutputStream().write(("{\"cniVersion\":\"1.1.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"socket\":\"" + socket + "\"}")
                    .getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly(); // the daemon is stopping: no child outlives it
            Thread.currentThread().interrupt();
        }
        // No cache (e.g. an unusual JDK) only costs start-up time: the launcher works without it.
    }

    /** The directory the configuration list is written to. */
    public Path confDir() {
        return confDir;
    }

    /** Removes the network configuration (the plugin files stay for DELs of remaining pods). */
    public static boolean uninstall(Path confDir) throws IOException {
        return Files.deleteIfExists(confDir.resolve(CONFLIST));
    }

    private static byte[] digest(Path f) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
