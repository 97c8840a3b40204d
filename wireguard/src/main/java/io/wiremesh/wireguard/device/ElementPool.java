package io.wiremesh.wireguard.device;

import java.util.concurrent.ArrayBlockingQueue;

/** A fixed set of preallocated elements; taking blocks when all are in flight (backpressure). */
final class ElementPool {
    private final ArrayBlockingQueue<Element> free;

    ElementPool(int size) {
        free = new ArrayBlockingQueue<>(size);
        for (int i = 0; i < size; i++) free.add(new Element(this));
    }

    Element take() throws InterruptedException {
        Element e = free.take();
        e.reset();
        return e;
    }

    /** Non-blocking take for control packets (keepalives); null when the pool is exhausted. */
    Element poll() {
        Element e = free.poll();
        if (e != null) e.reset();
        return e;
    }

    void release(Element e) {
        e.peer = null;
        e.keypair = null;
        e.endpoint = null;
        free.offer(e);
    }
}
