package io.wiremesh.wireguard.uapi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * Which WireGuard implementation owns interface IFNAME on this node: the node-daemon decides (from
 * the mesh's {@code spec.datapath} and whether the kernel has the module) and records it in
 * {@code DIR/IFNAME.owner} next to the UAPI socket (DIR is {@code /var/run/wireguard}, a tmpfs, so a
 * reboot forgets it); a userspace datapath process started by the chart creates the interface only
 * once the owner is {@link #USERSPACE}, so a node with the kernel module never has both.
 *
 * <p>The file holds one word, {@code kernel} or {@code userspace}, and a newline; it is replaced
 * atomically (write + rename), so a reader never sees half of it.
 */
public enum InterfaceOwner {
    /** The kernel module: the node-daemon creates the interface over rtnetlink and drives it over generic netlink. */
    KERNEL,
    /** A userspace process (wiremesh-wg or wireguard-go) creates the TUN and serves DIR/IFNAME.sock. */
    USERSPACE;

    /** {@code DIR/IFNAME.owner}. */
    public static Path path(Path dir, String ifname) {
        return dir.resolve(ifname + ".owner");
    }

    /** Records the owner of {@code ifname}; creates DIR when missing. */
    public void record(Path dir, String ifname) throws IOException {
        Files.createDirectories(dir);
        Path target = path(dir, ifname);
        Path tmp = dir.resolve("." + ifname + ".owner.tmp");
        Files.writeString(tmp, name().toLowerCase(Locale.ROOT) + "\n", StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Forgets the record (a node-daemon starting: its decision may differ from its predecessor's, and a
     * datapath starting meanwhile must wait for the new one rather than follow the old).
     */
    public static void forget(Path dir, String ifname) throws IOException {
        Files.deleteIfExists(path(dir, ifname));
    }

    /**
     * The recorded owner of {@code ifname}; empty when nothing is recorded yet.
     *
     * @throws IOException when the file exists but holds anything other than the two words
     */
    public static Optional<InterfaceOwner> read(Path dir, String ifname) throws IOException {
        String s;
        try {
            s = Files.readString(path(dir, ifname), StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return switch (s) {
            case "kernel" -> Optional.of(KERNEL);
            case "userspace" -> Optional.of(USERSPACE);
            default -> throw new IOException(path(dir, ifname) + " holds '" + s + "', not kernel or userspace: the node-daemon"
                    + " rewrites it when it starts");
        };
    }
}
