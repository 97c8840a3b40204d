package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node agent's thread against a node made of counters: when passes run, that the fail-closed routes are put
 * back between them, that it survives a failing tick and ends with the membership. Ticks of 10 ms; every wait is a
 * liveness bound of a minute.
 */
class NodeLoopTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final NodeReconciler.Outcome PASSED = new NodeReconciler.Outcome(1L, Map.of());
    private static final NodeReconciler.Outcome FAILED = new NodeReconciler.Outcome(null, Map.of(NodeReconciler.Step.PEERS, "no"));

    /** A node whose pass returns what {@link #next} gives, counting passes, fail-closed calls and membership ends. */
    static final class CountingNode implements NodeLoop.Node {
        final AtomicInteger passes = new AtomicInteger();
        final AtomicInteger failClosed = new AtomicInteger();
        final AtomicInteger over = new AtomicInteger();
        final java.util.List<NodeReconciler.NodeProblem> appeared = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile Supplier<NodeReconciler.Outcome> next = () -> PASSED;
        volatile boolean ended;
        volatile boolean configured = true;
        volatile NodeReconciler.NodeProblem problem;

        @Override
        public NodeReconciler.Outcome pass() {
            passes.incrementAndGet();
            return next.get();
        }

        @Override
        public boolean membershipEnded() {
            return ended;
        }

        @Override
        public void membershipOver() {
            over.incrementAndGet();
        }

        @Override
        public void failClosed() throws IOException {
            failClosed.incrementAndGet();
        }

        @Override
        public boolean datapathConfigured() {
            return configured;
        }

        @Override
        public NodeReconciler.NodeProblem problem() {
            return problem;
        }

        @Override
        public void problemAppeared(NodeReconciler.NodeProblem p) {
            appeared.add(p);
        }
    }

    private final CountingNode node = new CountingNode();
    private final NodeJobs jobs = new NodeJobs(System::nanoTime);
    /** A clock that stands still: the schedule's resync never comes, so every pass here has a reason. */
    private final NodeLoop loop = new NodeLoop(node, jobs, Duration.ofMillis(10), () -> 0L);

    @AfterEach
    void close() {
        loop.close();
    }

    @Test
    void aMarkedNodeGetsAPassAndAQuietOneOnlyItsFailClosedRoutes() {
        loop.start("test-loop");
        await().atMost(MINUTE).until(() -> node.failClosed.get() >= 5);
        assertThat(node.passes).as("nothing marked, nothing failing: no pass").hasValue(0);
        loop.markDirty();
        await().atMost(MINUTE).until(() -> node.passes.get() == 1);
    }

    @Test
    void aFailedPassRunsAgainUntilOnePasses() {
        node.next = () -> FAILED;
        loop.markDirty(); // before the first tick: every tick from the first one passes (no fail-closed-only tick before the switch)
        loop.start("test-loop");
        await().atMost(MINUTE).until(() -> node.passes.get() >= 3);
        assertThat(node.failClosed).hasValue(0);
        node.next = () -> PASSED;
        await().atMost(MINUTE).until(() -> node.failClosed.get() >= 3); // the passing pass ran; ticks without a pass again
        int settled = node.passes.get();
        int ticks = node.failClosed.get();
        await().atMost(MINUTE).until(() -> node.failClosed.get() >= ticks + 5);
        assertThat(node.passes).hasValue(settled);
    }

    @Test
    void aPassWithoutAPlanKeepsTheFailClosedRoutesAndIsRetried() {
        node.next = () -> null;
        loop.start("test-loop");
        loop.markDirty();
        await().atMost(MINUTE).until(() -> node.passes.get() >= 3 && node.failClosed.get() >= 3);
    }

    @Test
    void aLostConfigurationOrAProblemChangeRunsAPass() {
        loop.start("test-loop");
        node.configured = false;
        await().atMost(MINUTE).until(() -> node.passes.get() >= 2);
        node.configured = true;
        int ticks = node.failClosed.get();
        await().atMost(MINUTE).until(() -> node.failClosed.get() >= ticks + 3); // ticks without a pass again
        int before = node.passes.get();
        node.problem = new NodeReconciler.NodeProblem("IpamStateUnreadable", "cannot read");
        await().atMost(MINUTE).until(() -> node.passes.get() > before);
        assertThat(node.appeared).as("told once (an Event), not every tick").containsExactly(node.problem);
        node.problem = null;
        await().atMost(MINUTE).until(() -> node.passes.get() > before + 1);
        assertThat(node.appeared).as("its end is no new problem").hasSize(1);
    }

    @Test
    void aFailingTickIsSurvived() {
        AtomicInteger thrown = new AtomicInteger();
        node.next = () -> {
            thrown.incrementAndGet();
            throw new IllegalStateException("a bug in a step");
        };
        loop.start("test-loop");
        loop.markDirty();
        await().atMost(MINUTE).until(() -> thrown.get() >= 1);
        node.next = () -> PASSED;
        loop.markDirty();
        await().atMost(MINUTE).until(() -> node.passes.get() >= 2);
        assertThat(loop.alive()).isTrue();
    }

    @Test
    void anErrorOfTheVmEndsTheLoopAndIsReported() {
        node.next = () -> {
            throw new InternalError("an error of the VM"); // not OutOfMemoryError: the test runner ends its fork on that
        };
        loop.start("test-loop");
        loop.markDirty();
        await().atMost(MINUTE).dontCatchUncaughtExceptions().until(() -> !loop.alive()); // the thread's death is the point
    }

    @Test
    void theEndOfMembershipEndsTheLoopOnce() {
        loop.start("test-loop");
        node.ended = true;
        loop.markDirty();
        await().atMost(MINUTE).until(() -> node.over.get() == 1);
        int passes = node.passes.get();
        loop.markDirty();
        loop.close();
        assertThat(node.passes).hasValue(passes);
        assertThat(node.over).hasValue(1);
    }

    @Test
    void dueJobsRunOnTheLoopAndNothingRunsAfterClose() {
        AtomicInteger runs = new AtomicInteger();
        jobs.add("count", Duration.ZERO, runs::incrementAndGet);
        loop.start("test-loop");
        await().atMost(MINUTE).until(() -> runs.get() >= 3);
        loop.close();
        int after = runs.get() + node.passes.get() + node.failClosed.get();
        loop.markDirty();
        try {
            Thread.sleep(100); // a tick would have run ten times by now
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(runs.get() + node.passes.get() + node.failClosed.get()).isEqualTo(after);
    }
}
