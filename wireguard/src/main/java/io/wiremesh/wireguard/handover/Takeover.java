package io.wiremesh.wireguard.handover;

import io.wiremesh.wireguard.linux.LibC;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.tun.LinuxTun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The successor's side of {@link Handover}: asks a live predecessor for its device and receives the
 * state and the two descriptors; the caller builds its device from them ({@link #tun}, {@link #bind},
 * {@link #state}), then {@link #confirm}s (and starts only if that returns) or {@link #abort}s.
 */
public final class Takeover implements AutoCloseable {
    private final HandoverChannel channel;
    private final DeviceState state;
    private final int tunFd, udpFd;
    private boolean adoptedTun, adoptedBind, done;

    private Takeover(HandoverChannel channel, DeviceState state, int tunFd, int udpFd) {
        this.channel = channel;
        this.state = state;
        this.tunFd = tunFd;
        this.udpFd = udpFd;
    }

    /**
     * Asks the predecessor listening at {@code path} for its device.
     *
     * @return empty when no live process listens there (start fresh)
     * @throws IOException the predecessor refused (the message says why) or the conversation failed; it runs on
     */
    public static Optional<Takeover> request(Path path) throws IOException {
        if (!HandoverChannel.live(path)) return Optional.empty();
        HandoverChannel c = HandoverChannel.connect(path, Handover.TIMEOUT_MILLIS);
        try {
            c.send(Handover.HELLO + " " + DeviceState.VERSION);
            HandoverChannel.Frame f = c.receive();
            if (f.fds().length != 2) {
                for (int d : f.fds()) LibC.INSTANCE.close(d);
                String text = f.text();
                throw new IOException(text.startsWith(Handover.REFUSED) ? "the running datapath " + text : "unexpected answer: " + text);
            }
            DeviceState s;
            try {
                s = DeviceState.decode(f.text());
            } catch (IllegalArgumentException e) {
                LibC.INSTANCE.close(f.fds()[0]);
                LibC.INSTANCE.close(f.fds()[1]);
                c.send(Handover.ABORT + " " + e.getMessage());
                throw new IOException("unreadable state: " + e.getMessage());
            }
            return Optional.of(new Takeover(c, s, f.fds()[0], f.fds()[1]));
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public DeviceState state() {
        return state;
    }

    /** The predecessor's interface, as this process's own {@link LinuxTun}. */
    public LinuxTun tun(String ifname) throws IOException {
        LinuxTun t = LinuxTun.adopt(ifname, tunFd, state.tunOffload());
        adoptedTun = true;
        return t;
    }

    /** The predecessor's UDP socket, as this process's own {@link LinuxUdpBind}. */
    public LinuxUdpBind bind() throws IOException {
        LinuxUdpBind b = LinuxUdpBind.adopt(udpFd, state.udpSegmentation(), state.udpGro());
        adoptedBind = true;
        return b;
    }

    /**
     * Tells the predecessor the device is ready and waits until it has let go.
     *
     * @throws IOException no {@code released} came: do not start (the caller releases what it adopted and starts fresh)
     */
    public void confirm() throws IOException {
        done = true;
        channel.send(Handover.OK);
        String answer = channel.receiveText();
        if (!answer.equals(Handover.RELEASED)) throw new IOException("the predecessor answered " + answer + " instead of " + Handover.RELEASED);
    }

    /** Tells the predecessor to run on; closes the descriptors not yet adopted (the caller releases what it adopted). */
    public void abort(String reason) {
        if (done) return;
        done = true;
        try {
            channel.send(Handover.ABORT + " " + reason);
        } catch (IOException gone) {
            // the predecessor runs on when the connection closes, too
        }
        closeUnadopted();
    }

    private void closeUnadopted() {
        if (!adoptedTun) LibC.INSTANCE.close(tunFd);
        if (!adoptedBind) LibC.INSTANCE.close(udpFd);
        adoptedTun = adoptedBind = true;
    }

    @Override
    public void close() {
        if (!done) abort("the successor gave up");
        closeUnadopted();
        channel.close();
    }
}
