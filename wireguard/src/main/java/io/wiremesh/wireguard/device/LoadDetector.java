package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;

/**
 * Whether the device is under load, i.e. must answer handshake messages without a valid MAC2 with a
 * cookie reply instead of a Diffie-Hellman computation (whitepaper 5.3). As in the kernel and
 * wireguard-go: under load when the handshake queue is at least 1/8 full, and for
 * {@link Protocol#UNDER_LOAD_AFTER_TIME} after it last was, so a flood cannot slip full handshakes in
 * each time the queue briefly drains. Pure: the caller passes the queue length and the time.
 */
final class LoadDetector {
    private final int threshold;
    private volatile long until;
    private volatile boolean loaded;

    /** @param queueCapacity capacity of the handshake queue (messages) */
    LoadDetector(int queueCapacity) {
        this.threshold = Math.max(1, queueCapacity / 8);
    }

    /**
     * @param queued handshake messages waiting now
     * @param now    monotonic time in nanoseconds
     */
    boolean underLoad(int queued, long now) {
        if (queued >= threshold) {
            until = now + Protocol.UNDER_LOAD_AFTER_TIME;
            loaded = true;
            return true;
        }
        return loaded && now - until < 0;
    }
}
