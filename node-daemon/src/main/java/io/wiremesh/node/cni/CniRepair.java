package io.wiremesh.node.cni;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Keeps the node's CNI entry points in place while the daemon runs: every period it binds the
 * plugin socket again if its file was removed or replaced, and installs the plugin and the conflist
 * again if they were removed or changed ({@link CniInstaller#reinstallIfChanged}). Without this, a
 * node clean-up or another network plugin's installer leaves every new pod on the node failing its
 * ADD until the daemon restarts, while the daemon still reports ready.
 *
 * <p>What puts something on the node runs holding {@code lifecycle}, and not at all once
 * {@code stopping} answers true: what an uninstall removed stays removed. (A runtime to copy and
 * train again is prepared before taking the lock: it configures nothing and takes seconds.) A
 * failure that lasts is for a container restart to repair ({@link #failingFor}).
 *
 * <p>Each check also looks for configurations that take precedence over wiremesh's ({@link NetworkConfigDir}):
 * they are reported ({@link #preceding}: the node is not ready while any exists) and, when {@code exclusive}
 * (chart value {@code cni.exclusive}, Cilium's name for it), moved out of the runtime's sight.
 */
public final class CniRepair implements AutoCloseable {
    private final CniServer server;
    private final CniInstaller installer;
    private final Object lifecycle;
    private final BooleanSupplier stopping;
    private final boolean exclusive;
    private final Thread thread;
    private volatile List<Path> preceding = List.of();

    private CniRepair(CniServer server, CniInstaller installer, Duration period, Object lifecycle, BooleanSupplier stopping, boolean exclusive) {
        this.server = server;
        this.installer = installer;
        this.lifecycle = lifecycle;
        this.stopping = stopping;
        this.exclusive = exclusive;
        if (installer != null) precedence(); // before the first period: a node is not ready for a moment with another network first
        this.thread = Thread.ofPlatform().daemon().name("cni-repair").start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(period);
                    check();
                }
            } catch (InterruptedException closed) {
                // close()
            }
        });
    }

    /**
     * Starts checking every {@code period}.
     *
     * @param installer null when this daemon installs no plugin (only the socket is kept)
     */
    public static CniRepair start(CniServer server, CniInstaller installer, Duration period, Object lifecycle, BooleanSupplier stopping) {
        return start(server, installer, period, lifecycle, stopping, false);
    }

    /**
     * Starts checking every {@code period}.
     *
     * @param installer null when this daemon installs no plugin (only the socket is kept)
     * @param exclusive move configurations that take precedence over wiremesh's aside (else only report them)
     */
    public static CniRepair start(CniServer server, CniInstaller installer, Duration period, Object lifecycle, BooleanSupplier stopping,
                                  boolean exclusive) {
        return new CniRepair(server, installer, period, lifecycle, stopping, exclusive);
    }

    /** One check and repair; what it repaired or could not is logged (a failure once until it clears). */
    void check() {
        if (stopping.getAsBoolean()) return;
        String socketFailure = null, installFailure = null;
        synchronized (lifecycle) {
            if (stopping.getAsBoolean()) return;
            try {
                if (server.rebindIfUnreachable()) {
                    System.err.println("wiremesh node-daemon: the CNI socket " + server.path() + " was removed or replaced: serving it again");
                }
            } catch (IOException | RuntimeException e) {
                socketFailure = "the CNI socket " + server.path() + " is gone and cannot be served again (" + e.getMessage() + ")";
            }
        }
        if (installer != null) {
            try {
                if (!installer.changed().isEmpty()) {
                    installer.restoreRuntime(); // seconds if the runtime went (copy, AOT training): not holding up a stop
                    synchronized (lifecycle) {
                        if (stopping.getAsBoolean()) return;
                        List<Path> changed = installer.reinstallIfChanged();
                        if (!changed.isEmpty()) {
                            System.err.println("wiremesh node-daemon: " + changed + " removed or changed on the node: installed the CNI plugin"
                                    + " and configuration again");
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                installFailure = "the CNI plugin or configuration was removed or changed and cannot be installed again (" + e.getMessage() + ")";
            }
        }
        if (installer != null) precedence();
        report(socketFailure, lastSocketFailure);
        report(installFailure, lastInstallFailure);
        lastSocketFailure = socketFailure;
        lastInstallFailure = installFailure;
        boolean ok = socketFailure == null && installFailure == null;
        if (ok) failingSince = 0;
        else if (failingSince == 0) failingSince = System.nanoTime();
    }

    /** Finds the configurations that take precedence, moves them aside when exclusive, and says when that changes. */
    private void precedence() {
        List<Path> found;
        try {
            found = NetworkConfigDir.preceding(installer.confDir(), CniInstaller.CONFLIST);
            if (exclusive && !found.isEmpty()) {
                synchronized (lifecycle) {
                    if (stopping.getAsBoolean()) return;
                    for (Path f : found) {
                        Path aside = NetworkConfigDir.moveAside(f);
                        System.err.println("wiremesh node-daemon: moved " + f + " to " + aside + ": it took precedence over "
                                + CniInstaller.CONFLIST + " (cni.exclusive; put back when wiremesh is uninstalled)");
                    }
                }
                found = NetworkConfigDir.preceding(installer.confDir(), CniInstaller.CONFLIST);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("wiremesh node-daemon: cannot read or move the configurations in " + installer.confDir() + ": " + e.getMessage());
            return; // the last finding stands
        }
        if (!found.equals(preceding)) {
            System.err.println("wiremesh node-daemon: " + (found.isEmpty() ? "no other network configuration takes precedence over "
                    + CniInstaller.CONFLIST + " any more" : precedenceMessage(found)));
        }
        preceding = found;
    }

    /** What to tell an admin about {@code files} taking precedence (Ready condition, log, Event). */
    public static String precedenceMessage(List<Path> files) {
        return files + (files.size() == 1 ? " takes" : " take") + " precedence over " + CniInstaller.CONFLIST
                + ": the runtime wires new pods with it, outside wiremesh and unencrypted; remove it (a leftover of another network"
                + " plugin?) or set the chart value cni.exclusive=true to have wiremesh move it aside";
    }

    /**
     * The network configurations the last check found taking precedence over wiremesh's (empty: none; with
     * {@code exclusive}, those it could not move).
     */
    public List<Path> preceding() {
        return preceding;
    }

    private String lastSocketFailure, lastInstallFailure;
    private volatile long failingSince; // System.nanoTime() of the first failed check in a row, 0: none

    private static void report(String failure, String last) {
        if (failure != null && last == null) System.err.println("wiremesh node-daemon: " + failure + ": new pods on this node fail until it can; retrying");
    }

    /** Whether the last check found (or left) the socket, plugin and configuration in place. */
    public boolean intact() {
        return failingSince == 0;
    }

    /**
     * Whether checks have failed for more than {@code longer} in a row: what a restart of the container
     * repairs (e.g. a host directory removed under its mount, which this process cannot recreate).
     */
    public boolean failingFor(Duration longer) {
        long since = failingSince;
        return since != 0 && System.nanoTime() - since > longer.toNanos();
    }

    @Override
    public void close() throws InterruptedException {
        thread.interrupt();
        thread.join(2_000);
    }
}
