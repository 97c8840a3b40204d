package io.wiremesh.node.mesh;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The node agent's periodic duties besides its reconcile pass (peer report, preshared-key summary,
 * egress recheck, proposal rewrite): each a named job with its interval and its own last failure,
 * run by the agent's one thread ({@link #runDue}). A failing job is logged once per distinct failure
 * and runs again at its next interval; it never stops the others.
 */
final class NodeJobs {
    /** A duty; an exception is its failure. */
    interface Action {
        void run() throws IOException;
    }

    /** One job: its name (in the log), how often it runs, and its last failure (null: the last run passed). */
    static final class Job {
        final String name;
        final long intervalNanos;
        final Action action;
        long lastRun;
        volatile String lastFailure;

        Job(String name, Duration interval, Action action) {
            this.name = name;
            this.intervalNanos = interval.toNanos();
            this.action = action;
        }
    }

    private final List<Job> jobs = new ArrayList<>();
    private final LongSupplier nanoTime;
    private final NodeLog log = new NodeLog();

    NodeJobs(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Adds a job; its first run is one interval from now. */
    Job add(String name, Duration interval, Action action) {
        return add(name, interval, interval, action);
    }

    /** Adds a job whose first run is {@code first} from now. */
    Job add(String name, Duration interval, Duration first, Action action) {
        Job j = new Job(name, interval, action);
        j.lastRun = nanoTime.getAsLong() - interval.toNanos() + first.toNanos();
        jobs.add(j);
        return j;
    }

    /** Runs every job whose interval has passed since its last run, in the order they were added. */
    void runDue() {
        long now = nanoTime.getAsLong();
        for (Job j : jobs) {
            if (now - j.lastRun < j.intervalNanos) continue;
            j.lastRun = now;
            try {
                j.action.run();
                j.lastFailure = null;
                log.once(j.name, null);
            } catch (IOException | RuntimeException e) {
                j.lastFailure = String.valueOf(e.getMessage());
                log.once(j.name, j.name + ": " + j.lastFailure + " (retried in " + Duration.ofNanos(j.intervalNanos).toSeconds() + " s)");
            }
        }
    }

    /** The jobs, in order (for tests and metrics). */
    List<Job> jobs() {
        return List.copyOf(jobs);
    }
}
