package io.wiremesh.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * API writes of one pass that do not depend on each other, {@link #AT_ONCE} in flight: the API
 * server's write latency, not its throughput, bounds a serial loop (hundreds of nodes joining, or
 * proposing keys, at once).
 */
public final class ParallelWrites {
    /** How many writes are in flight at once. */
    public static final int AT_ONCE = 16;

    private ParallelWrites() {}

    /** Runs {@code tasks} {@link #AT_ONCE} at a time, on virtual threads, and returns when all are done (each handles its own failure). */
    public static void run(List<Runnable> tasks) {
        if (tasks.isEmpty()) return;
        Semaphore slots = new Semaphore(AT_ONCE);
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Runnable t : tasks) {
                slots.acquireUninterruptibly();
                executor.submit(() -> {
                    try {
                        t.run();
                    } finally {
                        slots.release();
                    }
                });
            }
        }
    }

    /**
     * Creates {@code objects} (in any order); one that exists already (a pass that raced this one) keeps
     * what the API object holds. Returns how many exist now (created, or found there); {@code onCreated}
     * runs once per object this call created.
     *
     * @throws KubernetesClientException the first failure other than a conflict, after all have been tried
     *                                   (also any other RuntimeException or Error a creation threw)
     */
    public static int create(KubernetesClient client, List<? extends HasMetadata> objects, Runnable onCreated) {
        AtomicInteger there = new AtomicInteger();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        run(objects.stream().<Runnable>map(object -> () -> {
            try {
                client.resource(object).create();
                onCreated.run();
                there.incrementAndGet();
            } catch (KubernetesClientException e) {
                if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) there.incrementAndGet(); // made by a racing pass: there all the same
                else failures.add(e);
            } catch (Throwable e) {
                failures.add(e); // rethrown below: the reconcile fails and is retried, nothing counted
            }
        }).toList());
        if (!failures.isEmpty()) {
            Throwable first = failures.getFirst();
            if (first instanceof RuntimeException r) throw r;
            if (first instanceof Error e) throw e;
            throw new IllegalStateException(first);
        }
        return there.get();
    }
}
