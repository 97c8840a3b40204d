package io.wiremesh.node.cni;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Which network configuration in the node's CNI configuration directory the runtime uses. containerd and CRI-O
 * (through libcni's {@code ConfFiles}) read the files named {@code *.conf}, {@code *.conflist} and {@code *.json},
 * sorted by name, and use the first one they can load; a file that fails to load makes containerd's load fail as a
 * whole. So any such file sorting before {@code 10-wiremesh.conflist} takes precedence: a leftover
 * {@code 05-calico.conflist} or {@code 10-flannel.conflist} puts new pods on a network wiremesh does not encrypt,
 * while wiremesh would report ready. {@link #preceding} names them, except a meta-plugin's configuration that
 * delegates to wiremesh (Multus: {@code 00-multus.conf} names wiremesh's list or plugin); {@link #moveAside} renames
 * one out of the runtime's sight ({@link #ASIDE} appended: never deleted, it may be someone's only copy; a second file
 * of the same name gets {@code .2}, {@code .3}, ... after that), and {@link #restore} puts every first one back (an
 * uninstall).
 */
public final class NetworkConfigDir {
    /** Appended to a configuration moved out of the runtime's sight (the runtime reads only the three extensions). */
    public static final String ASIDE = ".wiremesh-aside";
    private static final List<String> EXTENSIONS = List.of(".conf", ".conflist", ".json");

    private NetworkConfigDir() {}

    /**
     * The configurations in {@code dir} the runtime would read before {@code own} (regular files with one of the
     * runtime's extensions whose names sort before it, byte-wise as Go sorts), in that order, but for those that
     * name {@code own} or the plugin type {@code "wiremesh"} (a meta-plugin delegating to it); empty when the
     * directory is absent.
     */
    public static List<Path> preceding(Path dir, String own) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.compareTo(own) < 0 && EXTENSIONS.stream().anyMatch(n::endsWith) && Files.isRegularFile(f) && !delegatesTo(f, own);
            }).sorted().toList();
        }
    }

    /** Whether {@code f} names wiremesh's list or plugin type (Multus's clusterNetwork or delegates); unreadable: no. */
    private static boolean delegatesTo(Path f, String own) {
        try {
            String text = Files.readString(f);
            return text.contains(own) || text.matches("(?s).*\"type\"\\s*:\\s*\"" + CniInstaller.PLUGIN + "\".*");
        } catch (IOException | java.io.UncheckedIOException unreadable) {
            return false;
        }
    }

    /**
     * Renames {@code file} to its name with {@link #ASIDE} appended, or, when one of that name was set aside before (an
     * installer wrote the file again), with {@code .2}, {@code .3}, ... after it: nothing set aside is overwritten.
     * Returns the new path.
     */
    public static Path moveAside(Path file) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + ASIDE);
        for (int n = 2; Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS); n++) target = file.resolveSibling(file.getFileName() + ASIDE + "." + n);
        return Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Puts back every configuration {@link #moveAside} set aside in {@code dir}, unless a file of its original name
     * exists again (then the one set aside stays, and is named in the result's second list).
     *
     * @return the files restored, and those left aside because the name is taken
     */
    public static Restored restore(Path dir) throws IOException {
        List<Path> restored = new ArrayList<>(), kept = new ArrayList<>();
        if (!Files.isDirectory(dir)) return new Restored(restored, kept);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(ASIDE)).sorted().toList()) {
                String n = f.getFileName().toString();
                Path original = f.resolveSibling(n.substring(0, n.length() - ASIDE.length()));
                if (Files.exists(original)) {
                    kept.add(f);
                } else {
                    Files.move(f, original, StandardCopyOption.ATOMIC_MOVE);
                    restored.add(original);
                }
            }
        }
        return new Restored(restored, kept);
    }

    /** What {@link #restore} did: files put back under their names, and files left aside since their name is taken. */
    public record Restored(List<Path> restored, List<Path> keptAside) {}
}
