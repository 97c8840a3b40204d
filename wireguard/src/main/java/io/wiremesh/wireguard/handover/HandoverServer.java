package io.wiremesh.wireguard.handover;

import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.tun.LinuxTun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The predecessor's side of {@link Handover}: listens beside the UAPI socket and hands the running
 * device to the first successor that asks and can take it; then the device is released and
 * {@code onReleased} runs (the caller closes its UAPI socket and exits).
 */
public final class HandoverServer implements AutoCloseable {
    private final HandoverChannel.Listener listener;
    private final Device device;
    private final LinuxTun tun;
    private final Supplier<LinuxUdpBind> bind;
    private final Runnable beforeRelease;
    /** Counted down once the device is let go (before its threads stop), and once the successor was told so. */
    private final CountDownLatch released = new CountDownLatch(1), finished = new CountDownLatch(1);
    private volatile boolean closed;

    private HandoverServer(HandoverChannel.Listener listener, Device device, LinuxTun tun, Supplier<LinuxUdpBind> bind, Runnable beforeRelease) {
        this.listener = listener;
        this.device = device;
        this.tun = tun;
        this.bind = bind;
        this.beforeRelease = beforeRelease;
    }

    /**
     * Listens at {@code path} for a successor of {@code device}.
     *
     * @param bind the device's current UDP socket (it changes with the listen port)
     * @param beforeRelease runs once a successor has confirmed, before this device lets go (close the UAPI socket here:
     *     the successor binds its own once released)
     * @throws IOException another live process listens there, or the socket cannot be made
     */
    public static HandoverServer start(Path path, Device device, LinuxTun tun, Supplier<LinuxUdpBind> bind, Runnable beforeRelease)
            throws IOException {
        HandoverServer s = new HandoverServer(HandoverChannel.listen(path), device, tun, bind, beforeRelease);
        Thread.ofPlatform().daemon().name("wg-handover").start(s::serve);
        return s;
    }

    /**
     * Waits until the successor was told the device is released (or telling it failed): a process that exits
     * earlier leaves its successor waiting for that answer, and the successor would then give up.
     */
    public boolean awaitFinished(long timeoutMillis) throws InterruptedException {
        return finished.await(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Whether a successor has taken the device over (it is being or has been released: never close it). */
    public boolean handedOver() {
        return released.getCount() == 0;
    }

    /** Waits up to {@code timeoutMillis} for a successor to take over; true once it has. */
    public boolean awaitHandedOver(long timeoutMillis) throws InterruptedException {
        return released.await(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    private void serve() {
        while (!closed && !handedOver()) {
            try (HandoverChannel c = listener.accept(Handover.TIMEOUT_MILLIS)) {
                if (c == null) return;
                converse(c);
            } catch (IOException | RuntimeException e) {
                if (!closed) System.err.println("wiremesh-wg: handover failed, running on: " + e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Stops serving successors, after a conversation under way has ended: true when the device was handed over (the
     * caller must then leave it alone), false when the caller may close it (no successor will take it any more).
     */
    public synchronized boolean shutDown() {
        closed = true;
        listener.close();
        return handedOver();
    }

    // Synchronized with shutDown: a stopping process never closes the device while a successor is being given it.
    private synchronized void converse(HandoverChannel c) throws IOException, InterruptedException {
        if (closed) return;
        String hello;
        try {
            hello = c.receiveText();
        } catch (IOException probe) {
            return; // a liveness probe, or a client that went away before asking: nothing was paused
        }
        String[] h = hello.split(" ");
        int version;
        try {
            if (h.length != 2 || !h[0].equals(Handover.HELLO)) throw new NumberFormatException();
            version = Integer.parseInt(h[1]);
        } catch (NumberFormatException e) {
            c.send(Handover.REFUSED + " expected \"" + Handover.HELLO + " <version>\", got \"" + hello + "\"");
            return;
        }
        if (version < DeviceState.VERSION) {
            c.send(Handover.REFUSED + " this datapath writes state version " + DeviceState.VERSION + ", the successor reads up to " + version);
            return;
        }
        if (!device.pause(TimeUnit.SECONDS.toNanos(5))) {
            c.send(Handover.REFUSED + " the device's threads did not stop within 5 s");
            return;
        }
        boolean resume = true;
        try {
            LinuxUdpBind b = bind.get();
            DeviceState s = device.snapshot();
            DeviceState full = new DeviceState(s.privateKey(), s.listenPort(), s.fwmark(), tun.offloads(), b.segmentation(), b.gro(), s.peers());
            byte[] text = full.encode().getBytes(StandardCharsets.UTF_8);
            full.erase();
            try {
                c.send(text, tun.fd(), b.fd());
            } finally {
                java.util.Arrays.fill(text, (byte) 0);
            }
            String answer;
            try {
                answer = c.receiveText();
            } catch (IOException gone) {
                System.err.println("wiremesh-wg: the successor did not confirm (" + gone.getMessage() + "); running on");
                return;
            }
            if (!answer.equals(Handover.OK)) {
                System.err.println("wiremesh-wg: the successor did not take over: " + answer + "; running on");
                return;
            }
            resume = false;
            released.countDown();
            try {
                try {
                    beforeRelease.run();
                } catch (RuntimeException e) {
                    System.err.println("wiremesh-wg: closing the UAPI socket before the handover failed: " + e);
                }
                device.release();
                listener.close();
                c.send(Handover.RELEASED);
                System.err.println("wiremesh-wg: handed " + tun.name() + " over to its successor");
            } catch (IOException late) {
                System.err.println("wiremesh-wg: the successor gave up waiting (" + late.getMessage() + "); it starts fresh");
            } finally {
                finished.countDown();
            }
        } finally {
            if (resume) device.resume();
        }
    }

    /** Stops listening (removing the socket file unless a successor's replaced it). */
    @Override
    public void close() {
        closed = true;
        listener.close();
    }
}
