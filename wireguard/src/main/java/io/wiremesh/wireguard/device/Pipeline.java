package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.crypto.Aead;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * Crypto in parallel, delivery in order (wireguard-go's encryption/decryption workers feeding the
 * per-peer sequential sender/receiver). Each submitted element enters an order queue and a work
 * queue; workers seal/open elements as they come; one deliverer takes elements from the order
 * queue in submission order, waits for each to be processed, and flushes the stage whenever it has
 * caught up, so the stage's I/O covers every packet that was ready. With zero workers everything
 * runs on the submitting thread (run to completion), which wins on small machines; the submitter
 * then ends each run with {@link #flush}.
 */
final class Pipeline implements AutoCloseable {
    /**
     * The halves of a direction: crypto (any thread), delivery (in order), and the flush that ends a
     * run of deliveries so the stage can do its I/O for the whole run in one go.
     */
    interface Stage {
        /** Seals or opens {@code e} in place and sets its state; any thread, concurrently for different elements. */
        void process(Element e, Aead cipher);

        /**
         * Finishes {@code e} in submission order: either now (and frees it) or at the next
         * {@link #flush} (the stage keeps it until then). Never concurrently with itself or flush.
         */
        void deliver(Element e);

        /** Does the I/O for the elements delivered since the last flush, then frees them. */
        void flush();
    }

    private final Stage stage;
    private final Aead inlineCipher;
    private final BlockingQueue<Element> work;
    private final BlockingQueue<Element> order;
    private final List<Thread> threads = new ArrayList<>();
    private volatile Thread deliverer;
    private volatile Element awaited;
    private volatile boolean closed;

    Pipeline(String name, Stage stage, int workers, int depth) {
        this.stage = stage;
        if (workers == 0) {
            inlineCipher = Aead.create();
            work = order = null;
            return;
        }
        inlineCipher = null;
        work = new ArrayBlockingQueue<>(depth);
        order = new ArrayBlockingQueue<>(depth);
        for (int i = 0; i < workers; i++) {
            threads.add(Thread.ofPlatform().daemon().name(name + "-crypto-" + i).start(this::workLoop));
        }
        Thread d = Thread.ofPlatform().daemon().name(name + "-deliver").unstarted(this::deliverLoop);
        deliverer = d;
        threads.add(d);
        d.start();
    }

    /**
     * Submits an element. Callers submitting for the same peer must not race each other, or delivery
     * order would differ from counter order: outbound, {@link Peer#flushStaged} holds the peer's send
     * lock while it assigns a counter and submits; inbound, the one UDP reader submits. A run of
     * submissions ends with {@link #flush}.
     */
    void submit(Element e) {
        if (work == null) {
            synchronized (inlineCipher) {
                process(e, inlineCipher);
                deliver(e);
            }
            return;
        }
        try {
            order.put(e);
            work.put(e);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Ends a run of submissions: with zero workers the stage flushes now, on this thread; with workers
     * the deliverer flushes by itself whenever it has caught up, so this does nothing.
     */
    void flush() {
        if (work != null) return;
        synchronized (inlineCipher) {
            flushStage();
        }
    }

    private void workLoop() {
        Aead cipher = Aead.create();
        while (!closed) {
            Element e;
            try {
                e = work.take();
            } catch (InterruptedException ie) {
                return;
            }
            process(e, cipher);
            if (awaited == e) LockSupport.unpark(deliverer);
        }
    }

    private void process(Element e, Aead cipher) {
        try {
            stage.process(e, cipher);
        } catch (RuntimeException ex) {
            e.state = Element.DROP; // e.g. the session was erased while the packet was in flight
        }
        if (e.state != Element.DROP) e.state = Element.OK;
    }

    private void deliverLoop() {
        while (!closed) {
            Element e;
            try {
                e = order.take();
            } catch (InterruptedException ie) {
                return;
            }
            int spins = 0;
            while (e.state == Element.PENDING && !closed) {
                if (++spins < 200) {
                    Thread.onSpinWait();
                    continue;
                }
                awaited = e;
                if (e.state == Element.PENDING) LockSupport.parkNanos(1_000_000);
                awaited = null;
            }
            if (e.state == Element.PENDING) {
                e.pool.release(e); // closing: never deliver what crypto did not finish (unauthenticated)
                return;
            }
            deliver(e);
            if (order.isEmpty()) flushStage();
        }
    }

    private void deliver(Element e) {
        try {
            stage.deliver(e);
        } catch (RuntimeException ex) {
            // A faulty packet must never kill the delivery thread; the device counts drops in the stage.
        }
    }

    private void flushStage() {
        try {
            stage.flush();
        } catch (RuntimeException ex) {
            // as above: the stage has freed what it could and counted the drops
        }
    }

    /**
     * Whether everything submitted has been delivered and flushed: always with zero workers (the
     * submitter runs it to completion); with workers, when the order queue is empty and the deliverer
     * waits for the next element (it flushes before it waits). For a pause, not per packet.
     */
    boolean idle() {
        if (work == null) return true;
        Thread d = deliverer;
        return order.isEmpty() && work.isEmpty() && d != null && d.getState() == Thread.State.WAITING;
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) t.interrupt();
    }
}
