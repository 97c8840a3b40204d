package io.wiremesh.node.mesh;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The node agent's one thread. Each tick it waits (up to one {@code tick}) for the node to be marked dirty
 * ({@link #markDirty}), asks the node's problem, runs a pass when the {@link PassSchedule} says one is due,
 * re-asserts the fail-closed routes when no pass ran or none could be planned (someone may have flushed them), and
 * runs the due {@link NodeJobs}. It ends at {@link #close}, or after a pass that ended this node's membership (then
 * it runs {@link Node#membershipOver}). A runtime failure of a tick is logged and the next tick runs; an error of
 * the VM (out of memory) ends the thread and {@link #alive} turns false, so /healthz fails and the kubelet restarts
 * the daemon.
 */
final class NodeLoop implements AutoCloseable {
    /** The node the loop keeps; called on the loop's thread only. */
    interface Node {
        /** A snapshot, its plan and one pass; null when no plan can be made (the reason is logged once). */
        NodeReconciler.Outcome pass();

        /** Whether the last pass found this node's membership over. */
        boolean membershipEnded();

        /** What to do once the membership ended (the pass removed the peers and routes). */
        void membershipOver();

        /** Puts the fail-closed routes of the last plan back (a no-op when they are in place). */
        void failClosed() throws IOException;

        /** Whether the datapath still holds the configuration last written (false: a restarted userspace process). */
        boolean datapathConfigured();

        /** Something outside the mesh that keeps pods from this node (null: none); a change of it runs a pass. */
        NodeReconciler.NodeProblem problem();

        /** A problem appeared or changed (after it was logged): for what tells an admin (an Event). */
        default void problemAppeared(NodeReconciler.NodeProblem problem) {}
    }

    private final Node node;
    private final NodeJobs jobs;
    private final Duration tick;
    private final LongSupplier nanoTime;
    private final NodeLog log = new NodeLog();
    private final Semaphore dirty = new Semaphore(0);
    private volatile boolean closed;
    private volatile boolean stuck;
    private Thread thread;

    /**
     * @param tick     the longest wait for an event between two ticks (the agent: one second)
     * @param nanoTime {@link System#nanoTime} or a test's clock (for the schedule's resync)
     */
    NodeLoop(Node node, NodeJobs jobs, Duration tick, LongSupplier nanoTime) {
        this.node = node;
        this.jobs = jobs;
        this.tick = tick;
        this.nanoTime = nanoTime;
    }

    /** Starts the thread ({@code name}); the caller ran the first pass already. */
    void start(String name) {
        thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    /** Marks the node dirty: the next tick runs a pass. Any thread. */
    void markDirty() {
        dirty.release();
    }

    private void run() {
        PassSchedule schedule = new PassSchedule(PassSchedule.RESYNC, nanoTime.getAsLong());
        NodeReconciler.NodeProblem problem = null;
        while (!closed) {
            try {
                boolean woken = dirty.tryAcquire(tick.toNanos(), TimeUnit.NANOSECONDS);
                dirty.drainPermits();
                if (closed) return;
                NodeReconciler.NodeProblem was = problem;
                problem = node.problem();
                if (!Objects.equals(was, problem)) {
                    log.info(problem == null ? was.reason() + " resolved" : problem.message());
                    if (problem != null) node.problemAppeared(problem);
                }
                NodeReconciler.Outcome o = null;
                if (schedule.due(nanoTime.getAsLong(), woken, !Objects.equals(was, problem), node::datapathConfigured)) {
                    o = node.pass();
                    schedule.ran(nanoTime.getAsLong(), o != null && o.passed());
                    if (node.membershipEnded() && !closed) {
                        node.membershipOver();
                        return;
                    }
                }
                if (o == null) {
                    try {
                        node.failClosed();
                    } catch (IOException | RuntimeException e) {
                        log.failed("fail-closed", e.getMessage());
                    }
                }
                if (!closed) jobs.runDue();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) { // the one thread that keeps the node: it goes on (/healthz says if it cannot)
                log.failed("loop", String.valueOf(e));
                if (e instanceof VirtualMachineError) {
                    stuck = true;
                    throw e;
                }
            }
        }
    }

    /** False once the thread died of an error of the VM. */
    boolean alive() {
        Thread t = thread;
        return !stuck && (t == null || t.isAlive() || closed);
    }

    /**
     * Ends the loop and waits (up to 2 s) for a tick under way: not interrupted, since a UAPI write cut halfway
     * could leave a peer half-written.
     */
    @Override
    public void close() {
        closed = true;
        dirty.release();
        Thread t = thread;
        if (t == null) return;
        try {
            t.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
