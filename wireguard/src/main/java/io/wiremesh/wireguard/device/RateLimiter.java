package io.wiremesh.wireguard.device;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Per-source token bucket for handshake messages under load (wireguard-go's ratelimiter):
 * 20 per second with a burst of 5, per IPv4 address or IPv6 /64.
 */
final class RateLimiter {
    static final long PACKETS_PER_SECOND = 20;
    static final long BURST = 5;
    private static final long COST = 1_000_000_000L / PACKETS_PER_SECOND;
    private static final long MAX_TOKENS = COST * BURST;
    private static final long GC_INTERVAL = 1_000_000_000L;

    private static final class Bucket {
        long tokens;
        long last;
    }

    private final Map<Long, Bucket> buckets = new HashMap<>();
    private long lastGc;

    synchronized boolean allow(InetAddress source, long now) {
        if (now - lastGc > GC_INTERVAL) {
            for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
                if (now - it.next().last > GC_INTERVAL) it.remove();
            }
            lastGc = now;
        }
        Bucket b = buckets.get(key(source));
        if (b == null) {
            b = new Bucket();
            b.tokens = MAX_TOKENS - COST;
            b.last = now;
            buckets.put(key(source), b);
            return true;
        }
        b.tokens = Math.min(MAX_TOKENS, b.tokens + (now - b.last));
        b.last = now;
        if (b.tokens < COST) return false;
        b.tokens -= COST;
        return true;
    }

    synchronized int size() {
        return buckets.size();
    }

    private static long key(InetAddress a) {
        byte[] b = a.getAddress();
        long k = 0;
        for (int i = 0; i < Math.min(8, b.length); i++) k = k << 8 | (b[i] & 0xff);
        return b.length == 4 ? k : k ^ 0x8000_0000_0000_0000L ^ 0x1_0000_0000L;
    }
}
