package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import org.junit.jupiter.api.Test;

/** A status written over by someone else gets this node's proposal back, at most once per rewrite interval. */
class ProposalGuardTest {
    private final WireGuardNodeStatus own = new WireGuardNodeStatus();
    private final WireGuardNodeStatus foreign = new WireGuardNodeStatus();
    private final ProposalGuard guard = new ProposalGuard(s -> s == own);

    @Test
    void aStatusHoldingTheOwnProposalAsksNothing() {
        assertThat(guard.observed(own)).isFalse();
        assertThat(guard.tick()).isFalse();
        assertThat(guard.takeRewrite()).isFalse();
    }

    @Test
    void anOverwrittenProposalIsRewrittenByTheNextPassAfterTheJobsTick() {
        assertThat(guard.observed(foreign)).isTrue();
        assertThat(guard.observed(foreign)).as("said once").isFalse();
        assertThat(guard.takeRewrite()).as("not before the job's tick: two writers cannot make a tight loop").isFalse();
        assertThat(guard.tick()).isTrue();
        assertThat(guard.takeRewrite()).isTrue();
        guard.passed(true, true);
        assertThat(guard.takeRewrite()).isFalse();
        assertThat(guard.tick()).as("written back: nothing more to do").isFalse();
    }

    @Test
    void aRewriteWhoseStatusStepFailedIsAskedAgainAtTheNextTick() {
        guard.observed(foreign);
        guard.tick();
        assertThat(guard.takeRewrite()).isTrue();
        guard.passed(true, false);
        assertThat(guard.takeRewrite()).isFalse();
        assertThat(guard.tick()).isTrue();
        assertThat(guard.takeRewrite()).isTrue();
    }

    @Test
    void aPassNotAskedToRewriteChangesNothing() {
        guard.passed(false, false);
        assertThat(guard.tick()).isFalse();
    }
}
