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
 * while wiremesh would report ready. {@link #preceding} names them; {@link #moveAside} renames one out of the
 * runtime's sight ({@link #ASIDE} appended: never deleted, it may be someone's only copy), and {@link #restore}
 * puts every such file back (an uninstall).
 */
public final class NetworkConfigDir {
    /** Appended to a configuration moved out of the runtime's sight (the runtime reads only the three extensions). */
    public static final String ASIDE = ".wiremesh-aside";
    private static final List<String> EXTENSIONS = List.of(".conf", ".conflist", ".json");

    private NetworkConfigDir() {}

    /**
     * The configurations in {@code dir} the runtime would read before {@code own} (regular files with one of the
     * runtime's extensions whose names sort before it, byte-wise as Go sorts), in that order; empty when the
     * directory is absent.
     */
    public static List<Path> preceding(Path dir, String own) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.compareTo(own) < 0 && EXTENSIONS.stream().anyMatch(n::endsWith) && Files.isRegularFile(f);
            }).sorted().toList();
        }
    }

    /** Renames {@code file} to its name with {@link #ASIDE} appended (replacing an older one set aside); returns the new path. */
    public static Path moveAside(Path file) throws IOException {
        return Files.move(file, file.resolveSibling(file.getFileName() + ASIDE), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
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
