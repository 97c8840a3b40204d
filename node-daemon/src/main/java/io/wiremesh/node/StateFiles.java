package io.wiremesh.node;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Crash-safe writes of the daemon's state: temp file, fsync, atomic rename, fsync of the directory. */
public final class StateFiles {
    private StateFiles() {}

    /**
     * The decimal number a state file holds (written with {@link #writeAtomically}); 0 when the file is
     * absent or holds no number (a counter's floor: callers never go below what they know otherwise).
     */
    public static long readCounter(Path file) throws IOException {
        if (!Files.exists(file)) return 0;
        try {
            return Long.parseLong(Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII).trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Replaces {@code target} with {@code data}, readable by the owner only. */
    public static void writeAtomically(Path target, byte[] data) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) { // private from its first byte
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
