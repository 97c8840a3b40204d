package io.wiremesh.wireguard.device;

import java.nio.ByteBuffer;

/**
 * The elements one reader (TUN or UDP) offers to a batched read, taken from its direction's pool:
 * one read fills a prefix of them, the reader takes those, and the rest wait for the next read. Owned
 * by the reading thread; allocates nothing after construction.
 */
final class ReadBatch {
    private final ElementPool pool;
    private final Element[] elements;
    /** The elements' buffers, in the same slots, as the batched read calls want them. */
    final ByteBuffer[] buffers;
    private int held;

    /** @param size the most elements offered to one read */
    ReadBatch(ElementPool pool, int size) {
        this.pool = pool;
        this.elements = new Element[size];
        this.buffers = new ByteBuffer[size];
    }

    /**
     * Tops the batch up from the pool and returns how many elements it offers; blocks only while it
     * holds none (every element is in flight), so a busy device reads as much as it has room for.
     */
    int fill() throws InterruptedException {
        if (held == 0) put(pool.take());
        Element e;
        while (held < elements.length && (e = pool.poll()) != null) put(e);
        return held;
    }

    private void put(Element e) {
        elements[held] = e;
        buffers[held] = e.buf;
        held++;
    }

    /** Element {@code i} (below the count {@link #fill} returned). */
    Element get(int i) {
        return elements[i];
    }

    /** The read filled elements {@code [0, n)} and the caller took them over: the others move to the front. */
    void taken(int n) {
        int rest = held - n;
        System.arraycopy(elements, n, elements, 0, rest);
        System.arraycopy(buffers, n, buffers, 0, rest);
        for (int i = rest; i < held; i++) {
            elements[i] = null;
            buffers[i] = null;
        }
        held = rest;
    }

    /** Returns every held element to the pool (the reader stops). */
    void releaseAll() {
        for (int i = 0; i < held; i++) pool.release(elements[i]);
        taken(held);
    }
}
