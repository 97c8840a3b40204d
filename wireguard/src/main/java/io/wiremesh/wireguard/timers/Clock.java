package io.wiremesh.wireguard.timers;

import java.time.Instant;

/** Monotonic time for the protocol, wall time for TAI64N and handshake statistics. Injected so tests control both. */
public interface Clock {
    long nanos();

    Instant wall();

    Clock SYSTEM = new Clock() {
        @Override
        public long nanos() {
            return System.nanoTime();
        }

        @Override
        public Instant wall() {
            return Instant.now();
        }
    };
}
