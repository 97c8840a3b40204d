package io.wiremesh.wireguard.timers;

import java.time.Instant;

/** A clock that moves only when the test says so. */
public final class FakeClock implements Clock {
    private long nanos = 1_000_000_000L;
    private final Instant start = Instant.parse("2026-11-26T12:00:00Z");

    @Override
    public synchronized long nanos() {
        return nanos;
    }

    @Override
    public synchronized Instant wall() {
        return start.plusNanos(nanos);
    }

    public synchronized void advance(long deltaNanos) {
        nanos += deltaNanos;
    }
}
