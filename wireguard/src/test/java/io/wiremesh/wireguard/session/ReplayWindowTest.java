package io.wiremesh.wireguard.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.Protocol;
import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    private static final int W = ReplayWindow.WINDOW_SIZE;

    @Test
    void windowIsAtLeast2048() {
        assertThat(W).isGreaterThanOrEqualTo(2048).isEqualTo(8128);
    }

    @Test
    void inOrderAndDuplicates() {
        ReplayWindow w = new ReplayWindow();
        assertThat(w.accept(0)).isTrue();
        assertThat(w.accept(0)).isFalse();
        assertThat(w.accept(1)).isTrue();
        assertThat(w.accept(1)).isFalse();
        assertThat(w.accept(3)).isTrue();
        assertThat(w.accept(2)).isTrue();
        assertThat(w.accept(2)).isFalse();
    }

    @Test
    void outOfOrderWithinTheWindowIsAcceptedOnce() {
        ReplayWindow w = new ReplayWindow();
        assertThat(w.accept(W + 100L)).isTrue();
        // The oldest counter still inside the window, and one just outside it.
        assertThat(w.accept(101)).isTrue();
        assertThat(w.accept(101)).isFalse();
        assertThat(w.accept(100)).isTrue(); // exactly at the edge: (100+1) + W == W+101
        assertThat(w.accept(99)).isFalse();
        assertThat(w.accept(0)).isFalse();
    }

    @Test
    void bigJumpClearsTheRing() {
        ReplayWindow w = new ReplayWindow();
        for (long i = 0; i < 5000; i++) assertThat(w.accept(i)).isTrue();
        assertThat(w.accept(1_000_000)).isTrue();
        assertThat(w.accept(1_000_000 - 1)).isTrue();
        assertThat(w.accept(1_000_000 - W + 10)).isTrue();
        assertThat(w.accept(4999)).isFalse();
        assertThat(w.accept(1_000_000)).isFalse();
    }

    @Test
    void everyCounterOnceAcrossBlockBoundaries() {
        ReplayWindow w = new ReplayWindow();
        // Deliver in a scrambled order inside a sliding window: each accepted exactly once.
        int n = 40_000;
        for (int base = 0; base < n; base += 1000) {
            for (int i = 999; i >= 0; i -= 2) assertThat(w.accept(base + i)).isTrue();
            for (int i = 0; i < 1000; i += 2) assertThat(w.accept(base + i)).isTrue();
            for (int i = 0; i < 1000; i += 7) assertThat(w.accept(base + i)).isFalse();
        }
    }

    @Test
    void countersAtTheRejectLimitAreRefused() {
        ReplayWindow w = new ReplayWindow();
        assertThat(w.accept(Protocol.REJECT_AFTER_MESSAGES)).isFalse();
        assertThat(w.accept(-1L)).isFalse();
        assertThat(w.accept(Protocol.REJECT_AFTER_MESSAGES - 1)).isTrue();
        assertThat(w.accept(Protocol.REJECT_AFTER_MESSAGES - 1)).isFalse();
        assertThat(w.accept(0)).isFalse();
    }
}
