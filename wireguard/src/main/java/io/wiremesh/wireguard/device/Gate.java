package io.wiremesh.wireguard.device;

/**
 * Holds the device's threads at a safe point while another process takes the device over (or a
 * snapshot is taken): {@link #close} asks, each thread calls {@link #pass} between units of work
 * (a batch read and fully handled, a handshake message, a timer round) and parks there until
 * {@link #open}. Open, {@link #pass} costs one volatile read.
 */
final class Gate {
    private volatile boolean shut;
    private int parked;

    /** Asks the threads to park at their next safe point. */
    synchronized void close() {
        shut = true;
    }

    /** Lets the parked threads go on. */
    synchronized void open() {
        shut = false;
        notifyAll();
    }

    /** A thread's safe point: returns at once while open, else parks until opened. */
    void pass() throws InterruptedException {
        if (!shut) return;
        synchronized (this) {
            parked++;
            notifyAll();
            try {
                while (shut) wait();
            } finally {
                parked--;
            }
        }
    }

    /** Waits until {@code threads} threads are parked; false when that did not happen within {@code timeoutNanos}. */
    synchronized boolean awaitParked(int threads, long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (parked < threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
