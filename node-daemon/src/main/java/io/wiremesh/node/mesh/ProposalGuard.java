package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.util.function.Predicate;

/**
 * Keeps this node's signed proposal (keys, endpoints, signature: WireGuardNode status) in place when someone else
 * writes the node's status (a client with other credentials, a restored backup). The watch reports every status
 * seen ({@link #observed}); one that no longer holds the proposal last signed marks it overwritten; the
 * proposal-rewrite job ({@link #tick}, every {@link #REWRITE_INTERVAL}) turns that into a rewrite
 * asked of the next pass ({@link #takeRewrite}), so two writers cannot make the node write in a tight loop. A
 * pass whose status step failed leaves it overwritten ({@link #passed}). Thread-safe: the watch's thread observes,
 * the agent's thread ticks and passes.
 */
final class ProposalGuard {
    /** The least time between two rewrites of this node's proposal over a status someone else wrote. */
    static final java.time.Duration REWRITE_INTERVAL = java.time.Duration.ofSeconds(5);
    private final Predicate<WireGuardNodeStatus> holdsOwnProposal;
    private boolean overwritten;
    private boolean rewriteDue;

    /** @param holdsOwnProposal whether a status holds the proposal this node last signed ({@link MemberStatus#holdsOwnProposal}) */
    ProposalGuard(Predicate<WireGuardNodeStatus> holdsOwnProposal) {
        this.holdsOwnProposal = holdsOwnProposal;
    }

    /** A status the watch saw; true when it newly found the proposal overwritten (to be logged once). */
    synchronized boolean observed(WireGuardNodeStatus status) {
        if (overwritten || holdsOwnProposal.test(status)) return false;
        overwritten = true;
        return true;
    }

    /** The job's tick: true when a rewrite is now due (the agent should run a pass). */
    synchronized boolean tick() {
        if (!overwritten) return false;
        overwritten = false;
        rewriteDue = true;
        return true;
    }

    /** Whether the coming pass should write the status even though it equals the last one written; clears it. */
    synchronized boolean takeRewrite() {
        boolean due = rewriteDue;
        rewriteDue = false;
        return due;
    }

    /** After a pass that was asked to rewrite: when the status was not written, the proposal stays overwritten. */
    synchronized void passed(boolean rewrite, boolean statusWritten) {
        if (rewrite && !statusWritten) overwritten = true;
    }
}
