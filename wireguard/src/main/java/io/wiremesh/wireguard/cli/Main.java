package io.wiremesh.wireguard.cli;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.handover.Handover;
import io.wiremesh.wireguard.handover.HandoverServer;
import io.wiremesh.wireguard.handover.Takeover;
import io.wiremesh.wireguard.net.Bind;
import io.wiremesh.wireguard.metrics.DatapathMetrics;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.timers.Clock;
import io.wiremesh.wireguard.uapi.InterfaceOwner;
import io.wiremesh.wireguard.tun.LinuxTun;
import io.wiremesh.wireguard.uapi.Uapi;
import io.wiremesh.wireguard.uapi.UapiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code wiremesh-wg [-f] IFNAME}: a standalone WireGuard interface, used like wireguard-go.
 * Creates TUN IFNAME, serves the UAPI socket and waits to be configured with {@code wg}.
 * Without {@code -f} it starts itself in the background and returns once the interface is ready.
 *
 * <p>{@code wiremesh-wg --wait-for-userspace IFNAME} creates nothing: it returns (exit 0) once the
 * node-daemon has recorded a userspace datapath as IFNAME's {@link InterfaceOwner}, and waits (standing
 * by) while the owner is the kernel module. The chart runs it before the datapath, so a node whose
 * kernel has WireGuard never also runs a userspace interface of the same name.
 *
 * <p>Environment: {@code WIREMESH_WG_WORKERS} crypto workers per direction (0 = run to completion
 * on the I/O threads), {@code WIREMESH_WG_BUFFERS} packet buffers per direction,
 * {@code WIREMESH_WG_UAPI_DIR} socket directory (default /var/run/wireguard), {@code WIREMESH_WG_METRICS}
 * HOST:PORT to serve Prometheus metrics on ({@link DatapathMetrics}; unset: none),
 * {@code WIREMESH_WG_HANDOVER_WAIT} seconds to serve on after SIGTERM until a successor takes over (default 0).
 *
 * <p>A second {@code wiremesh-wg -f IFNAME} started while one runs takes the interface over
 * ({@link Handover}): the TUN, the UDP socket, the peers and their live sessions pass to it, and the
 * first one exits, so a datapath is replaced without a new handshake and without losing packets.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        boolean foreground = false, waitForUserspace = false;
        String ifname = null;
        for (String a : args) {
            if (a.equals("-f") || a.equals("--foreground")) foreground = true;
            else if (a.equals("--wait-for-userspace")) waitForUserspace = true;
            else if (a.equals("--version")) {
                System.out.println("wiremesh-wg 0.1.0 (pure-Java WireGuard, UAPI protocol_version=1)");
                return;
            } else if (a.startsWith("-")) usage("unknown option " + a);
            else if (ifname == null) ifname = a;
            else usage("one interface name only");
        }
        if (ifname == null) usage("missing interface name");
        Path uapiDir = Path.of(System.getenv().getOrDefault("WIREMESH_WG_UAPI_DIR", UapiServer.DEFAULT_DIR.toString()));
        if (waitForUserspace) {
            awaitUserspaceOwner(uapiDir, ifname, 500);
            return;
        }
        if (!foreground) {
            daemonize(ifname, uapiDir);
            return;
        }
        run(ifname, uapiDir);
    }

    private static void usage(String problem) {
        System.err.println("wiremesh-wg: " + problem);
        System.err.println("Usage: wiremesh-wg [-f/--foreground] INTERFACE-NAME");
        System.err.println("       wiremesh-wg --wait-for-userspace INTERFACE-NAME");
        System.exit(2);
    }

    private static int env(String name, int def) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? def : Integer.parseInt(v.trim());
    }

    /**
     * A previous instance (e.g. the old pod of a rolling update) may still hold the interface for a few
     * seconds while it shuts down: wait for it (up to 60 s) rather than crash-loop.
     */
    private static LinuxTun createTun(String ifname, boolean offload) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        boolean told = false;
        while (true) {
            try {
                return LinuxTun.create(ifname, Protocol.DEFAULT_MTU, offload);
            } catch (java.io.IOException e) {
                if (!e.getMessage().endsWith("Device or resource busy") || System.nanoTime() > deadline) throw e;
                if (!told) System.err.println("wiremesh-wg: " + ifname + " is still held by another process; waiting for it to let go");
                told = true;
                Thread.sleep(200);
            }
        }
    }

    /**
     * Returns once {@code ifname}'s recorded owner is {@link InterfaceOwner#USERSPACE}, polling every
     * {@code pollMillis}; says once per state why it is still waiting (no owner yet, the kernel module,
     * an unreadable record).
     */
    static void awaitUserspaceOwner(Path uapiDir, String ifname, long pollMillis) throws InterruptedException {
        String told = null;
        while (true) {
            String why;
            try {
                var owner = InterfaceOwner.read(uapiDir, ifname);
                if (owner.orElse(null) == InterfaceOwner.USERSPACE) {
                    if (told != null) System.err.println("wiremesh-wg: the node-daemon chose the userspace datapath for " + ifname);
                    return;
                }
                why = owner.isEmpty()
                        ? "waiting for the node-daemon to choose the datapath of " + ifname + " (" + InterfaceOwner.path(uapiDir, ifname) + ")"
                        : "the node-daemon drives " + ifname + " through the kernel WireGuard module: standing by, no userspace interface on this node";
            } catch (java.io.IOException e) {
                why = "waiting: " + e.getMessage();
            }
            if (!why.equals(told)) System.err.println("wiremesh-wg: " + why);
            told = why;
            Thread.sleep(pollMillis);
        }
    }

    static void run(String ifname, Path uapiDir) throws Exception {
        // WIREMESH_WG_OFFLOAD=0: one packet per TUN read/write and per UDP send (comparisons, odd kernels).
        boolean offload = env("WIREMESH_WG_OFFLOAD", 1) != 0;
        Device.Options opts = new Device.Options(env("WIREMESH_WG_WORKERS", 0), env("WIREMESH_WG_BUFFERS", 512), true);
        Bind.Factory binds = port -> LinuxUdpBind.open(port, offload);
        Path handoverPath = Handover.path(uapiDir, ifname);
        Device device = takeOver(ifname, handoverPath, binds, opts);
        boolean tookOver = device != null;
        if (device == null) device = new Device(createTun(ifname, offload), binds, Clock.SYSTEM, opts);
        LinuxTun tun = (LinuxTun) device.tun();
        device.start();
        UapiServer uapi = UapiServer.start(new Uapi(device), uapiDir, ifname);
        String metricsAddress = System.getenv("WIREMESH_WG_METRICS");
        DatapathMetrics metrics = null;
        if (metricsAddress != null && !metricsAddress.isBlank()) {
            // Metrics are for people; the interface must come up without them (a port taken by another process).
            try {
                metrics = DatapathMetrics.serve(device, ifname, metricsAddress.trim());
            } catch (java.io.IOException | IllegalArgumentException e) {
                System.err.println("wiremesh-wg: no metrics: cannot serve them on " + metricsAddress + ": " + e.getMessage());
            }
        }
        DatapathMetrics served = metrics;
        Device running = device;
        Runnable closeServers = () -> {
            if (served != null) served.close();
            uapi.close();
        };
        HandoverServer handover = HandoverServer.start(handoverPath, device, tun, () -> (LinuxUdpBind) running.bind(), closeServers);
        long handoverWait = env("WIREMESH_WG_HANDOVER_WAIT", 0) * 1000L;
        java.util.concurrent.atomic.AtomicBoolean tunGone = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                // Asked to stop (a pod being replaced): serve on until a successor takes over, for up to
                // WIREMESH_WG_HANDOVER_WAIT s; not when the interface is gone (its port is wanted, e.g. by the kernel module).
                if (handoverWait > 0 && !tunGone.get() && !handover.handedOver()) handover.awaitHandedOver(handoverWait);
                if (handover.shutDown()) { // waits for a conversation under way
                    handover.awaitFinished(Handover.TIMEOUT_MILLIS); // the successor must hear it was released
                    return; // the interface and the socket are the successor's now
                }
            } catch (InterruptedException ignored) {
                if (handover.handedOver()) return;
            }
            closeServers.run();
            running.close();
        }));
        System.err.println("wiremesh-wg: interface " + ifname + (tookOver ? " taken over with its sessions" : " is up") + "; UAPI on "
                + uapi.path() + " (offloads " + (tun.offloads() ? "on" : "off") + ", transport crypto "
                + io.wiremesh.wireguard.crypto.Aead.chosen() + ")");
        device.awaitTunGone();
        // Handed over: the TUN reader stopped because the device was released; the successor waits for its answer.
        if (handover.handedOver()) handover.awaitFinished(Handover.TIMEOUT_MILLIS);
        else tunGone.set(true);
        System.exit(0); // the shutdown hook removes the socket, unless a successor has it
    }

    /**
     * Takes the interface over from a running predecessor ({@link Handover}): its TUN, socket, peers and
     * live sessions; null when there is none or it cannot be taken over (then start fresh: creating the
     * TUN waits until the predecessor lets go).
     */
    private static Device takeOver(String ifname, Path handoverPath, Bind.Factory binds, Device.Options opts) {
        Optional<Takeover> request;
        try {
            request = Takeover.request(handoverPath);
        } catch (java.io.IOException e) {
            System.err.println("wiremesh-wg: cannot take " + ifname + " over (" + e.getMessage() + "); starting fresh once it lets go");
            return null;
        }
        if (request.isEmpty()) return null;
        try (Takeover t = request.get()) {
            Device d = null;
            LinuxTun tun = null;
            LinuxUdpBind bind = null;
            try {
                tun = t.tun(ifname);
                bind = t.bind();
                d = new Device(tun, binds, Clock.SYSTEM, opts);
                d.adopt(bind);
                d.restore(t.state());
                t.state().erase();
                t.confirm();
                return d;
            } catch (java.io.IOException | RuntimeException e) {
                t.abort(String.valueOf(e.getMessage()));
                if (d != null) d.release();
                else {
                    if (bind != null) bind.release();
                    if (tun != null) tun.release();
                }
                System.err.println("wiremesh-wg: taking " + ifname + " over failed (" + e.getMessage() + "); starting fresh once it lets go");
                return null;
            }
        }
    }

    /** Re-executes this program with -f, detached, and returns when its UAPI socket exists. */
    private static void daemonize(String ifname, Path uapiDir) throws Exception {
        ProcessHandle.Info info = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        cmd.add(info.command().orElseThrow());
        info.arguments().ifPresent(a -> {
            for (String s : a) if (!s.equals(ifname)) cmd.add(s);
        });
        cmd.add("-f");
        cmd.add(ifname);
        Path sock = uapiDir.resolve(ifname + ".sock");
        Files.deleteIfExists(sock);
        Process p = new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        for (int i = 0; i < 300; i++) {
            if (Files.exists(sock)) return;
            if (!p.isAlive()) {
                System.err.println("wiremesh-wg: failed to start " + ifname + " (exit " + p.exitValue() + "); run with -f to see why");
                System.exit(1);
            }
            Thread.sleep(50);
        }
        System.err.println("wiremesh-wg: " + ifname + " did not come up within 15 s");
        System.exit(1);
    }
}
