package io.wiremesh.node.mesh;

import java.time.Duration;

/**
 * When the node agent's thread runs a reconcile pass: when an event marked the node dirty, when a node problem
 * appeared or went, while the last pass failed (every tick: one second), while the datapath lost its configuration
 * (a restarted userspace process comes back empty), and at least every {@code resync} over an unchanged mesh. Pure:
 * times are {@link System#nanoTime} values handed in. Not thread-safe: the agent's thread.
 */
final class PassSchedule {
    /** The longest between two passes over an unchanged mesh. */
    static final Duration RESYNC = Duration.ofSeconds(10);
    private final long resyncNanos;
    private long lastPass;
    private boolean failing;

    /** @param now when the schedule starts (the first pass runs before it) */
    PassSchedule(Duration resync, long now) {
        this.resyncNanos = resync.toNanos();
        this.lastPass = now;
    }

    /**
     * Whether a pass is due at {@code now}.
     *
     * @param woken              an event marked the node dirty since the last tick
     * @param problemChanged     the node's problem (from outside the mesh) appeared, changed or went
     * @param datapathConfigured whether the datapath still holds the configuration last written: asked last, only when
     *                           nothing else makes a pass due (it may cost a UAPI request)
     */
    boolean due(long now, boolean woken, boolean problemChanged, java.util.function.BooleanSupplier datapathConfigured) {
        return woken || failing || problemChanged || now - lastPass > resyncNanos || !datapathConfigured.getAsBoolean();
    }

    /** A pass ran at {@code now}; {@code passed}: every step passed (else the next tick runs one again). */
    void ran(long now, boolean passed) {
        lastPass = now;
        failing = !passed;
    }
}
