package io.wiremesh.wireguard.device;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of elements; taking blocks when all are in flight (backpressure). Last in, first out,
 * so a device reuses the same few elements (their buffers stay in cache, and the others are never
 * given memory: see {@link Element#reset}).
 */
final class ElementPool {
    private final Element[] free;
    private int count;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition available = lock.newCondition();

    ElementPool(int size) {
        free = new Element[size];
        for (int i = 0; i < size; i++) free[i] = new Element(this);
        count = size;
    }

    /** The most recently freed element, waiting while none is free. */
    Element take() throws InterruptedException {
        Element e;
        lock.lock();
        try {
            while (count == 0) available.await();
            e = free[--count];
            free[count] = null;
        } finally {
            lock.unlock();
        }
        e.reset();
        return e;
    }

    /** Non-blocking take (batches, keepalives); null when the pool is exhausted. */
    Element poll() {
        Element e;
        lock.lock();
        try {
            if (count == 0) return null;
            e = free[--count];
            free[count] = null;
        } finally {
            lock.unlock();
        }
        e.reset();
        return e;
    }

    /** Returns {@code e}; it must have come from this pool and not be returned twice. */
    void release(Element e) {
        e.peer = null;
        e.keypair = null;
        e.endpoint = null;
        lock.lock();
        try {
            if (count == free.length) throw new IllegalStateException("element released twice");
            free[count++] = e;
            available.signal();
        } finally {
            lock.unlock();
        }
    }
}
