package io.wiremesh.wireguard.handover;

import java.nio.file.Path;

/**
 * The handover protocol between a running {@code wiremesh-wg} (the predecessor) and the one that
 * replaces it (the successor), one definition for both sides ({@link HandoverServer},
 * {@link Takeover}). The predecessor listens at {@code <uapi dir>/<interface>.handover} (mode 0600,
 * beside the UAPI socket, which gives away the same keys). A conversation, one frame each
 * ({@link HandoverChannel}):
 *
 * <ol>
 *   <li>successor: {@code hello <version>}, the newest {@link DeviceState} version it reads;</li>
 *   <li>predecessor: holds its threads ({@code Device.pause}), then sends the state in
 *       {@code min(its version, the successor's)} with two descriptors, the TUN queue and the UDP
 *       socket; or {@code refused <reason>} (it could not pause, or cannot write such an old version),
 *       and runs on;</li>
 *   <li>successor: adopts both, builds its device from the state without starting it, then
 *       {@code ok}; or {@code abort <reason>} (the predecessor runs on);</li>
 *   <li>predecessor: stops its threads, erases its keys, closes its descriptors, UAPI socket and
 *       listener, answers {@code released} and exits;</li>
 *   <li>successor: starts its threads, then serves the UAPI and its own handover listener.</li>
 * </ol>
 *
 * Never do both processes read: the successor starts only after {@code released}; a predecessor
 * that gets no {@code ok} (EOF, {@link #TIMEOUT_MILLIS}) runs on, and a successor that gets no
 * {@code released} closes its descriptors and starts fresh, as after a crash. The send counters
 * carried over are exact: the predecessor sends nothing once paused, and no configuration request
 * (a UAPI set) runs from the pause to the end (it waits, and once released is refused with EBUSY).
 * The keys travel as text; both sides zero their byte arrays after use ({@link DeviceState#erase}),
 * the strings live until collected. A later release must keep reading every older state version.
 */
public final class Handover {
    private Handover() {}

    /** How long either side waits for the other's next frame, in milliseconds. */
    public static final int TIMEOUT_MILLIS = 10_000;
    static final String HELLO = "hello", REFUSED = "refused", OK = "ok", ABORT = "abort", RELEASED = "released";

    /** The listener of interface {@code ifname}'s predecessor, beside its UAPI socket in {@code uapiDir}. */
    public static Path path(Path uapiDir, String ifname) {
        return uapiDir.resolve(ifname + ".handover");
    }
}
