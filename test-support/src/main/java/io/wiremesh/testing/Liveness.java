package io.wiremesh.testing;

import java.time.Duration;

/**
 * The one bound a test waits for something to happen: long enough that only "it never happens"
 * fails it, even on a loaded shared machine. How fast it happens is measured in bench/ (its figures
 * are in docs/benchmarks.md), never asserted in a test.
 */
public final class Liveness {
    /** How long a test waits for something to happen before it fails. */
    public static final Duration BOUND = Duration.ofMinutes(2);

    private Liveness() {}
}
