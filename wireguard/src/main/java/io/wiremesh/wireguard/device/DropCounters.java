package io.wiremesh.wireguard.device;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** One counter per {@link Drop} reason; counting is contention-friendly and allocation-free (LongAdder). */
final class DropCounters {
    private final EnumMap<Drop, LongAdder> counters = new EnumMap<>(Drop.class);

    DropCounters() {
        for (Drop d : Drop.values()) counters.put(d, new LongAdder());
    }

    void count(Drop reason) {
        counters.get(reason).increment();
    }

    /** Packets dropped for {@code reason} since the device was created. */
    long get(Drop reason) {
        return counters.get(reason).sum();
    }

    /** Packets dropped for any reason. */
    long total() {
        long n = 0;
        for (LongAdder a : counters.values()) n += a.sum();
        return n;
    }

    /** A copy: reason -> packets dropped. */
    Map<Drop, Long> snapshot() {
        Map<Drop, Long> m = new EnumMap<>(Drop.class);
        counters.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }
}
