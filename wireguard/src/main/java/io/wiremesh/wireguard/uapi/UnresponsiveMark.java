package io.wiremesh.wireguard.uapi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The node-daemon's verdict that the userspace datapath serving IFNAME hangs: {@code DIR/IFNAME.unresponsive}
 * (next to the UAPI socket and {@link InterfaceOwner}'s file). The node-daemon is the datapath's one UAPI client and
 * bounds every request; it writes the mark (holding its reason, one line) when a request took no answer in time, and
 * removes it as soon as one is answered. The chart's datapath container fails its liveness probe while the mark
 * exists ({@code test ! -e DIR/IFNAME.unresponsive}: no client and no JVM in the probe, the same for wiremesh-wg and
 * wireguard-go), so the kubelet restarts a hung datapath after the probe's failure threshold; the container removes
 * the mark before it starts a datapath.
 */
public final class UnresponsiveMark {
    private UnresponsiveMark() {}

    /** {@code DIR/IFNAME.unresponsive}. */
    public static Path path(Path dir, String ifname) {
        return dir.resolve(ifname + ".unresponsive");
    }

    /** Marks IFNAME's datapath unresponsive, saying why (replaced atomically). */
    public static void mark(Path dir, String ifname, String reason) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + ifname + ".unresponsive.tmp");
        Files.writeString(tmp, reason.replace('\n', ' ') + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, path(dir, ifname), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Removes the mark; true when there was one. */
    public static boolean clear(Path dir, String ifname) throws IOException {
        return Files.deleteIfExists(path(dir, ifname));
    }
}
