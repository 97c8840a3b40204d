package io.wiremesh.clusterdns;

import io.fabric8.kubernetes.api.model.Endpoints;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services and Endpoints of all namespaces, from two Fabric8 informers, as a {@link ClusterState}. Level-triggered:
 * any change schedules one rebuild (at most every {@value #DEBOUNCE_MILLIS} ms), which reads both informer caches
 * whole; events only say "something changed". The informers retry failed lists and watches for ever (a problem is
 * logged once until it changes).
 */
public final class KubeWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KubeWatcher.class);
    /** How long changes are gathered before a rebuild, in milliseconds. */
    public static final long DEBOUNCE_MILLIS = 100;

    private final SharedIndexInformer<Service> services;
    private final SharedIndexInformer<Endpoints> endpoints;
    private final Consumer<ClusterState> onChange;
    private final ScheduledExecutorService rebuilder = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("dns-zone").daemon().unstarted(r));
    private final AtomicBoolean pending = new AtomicBoolean();
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Map<String, String> problems = new ConcurrentHashMap<>();

    /**
     * Prepares the informers (nothing is listed before {@link #start()}).
     *
     * @param client a client allowed to list and watch services and endpoints in all namespaces
     * @param onChange called with each new state, on one thread, never concurrently
     */
    public KubeWatcher(KubernetesClient client, Consumer<ClusterState> onChange) {
        this.onChange = onChange;
        this.services = client.services().inAnyNamespace().runnableInformer(0);
        this.endpoints = client.endpoints().inAnyNamespace().runnableInformer(0);
        ResourceEventHandler<Object> changed = new ResourceEventHandler<>() {
            @Override public void onAdd(Object o) { changed(); }
            @Override public void onUpdate(Object o, Object n) { changed(); }
            @Override public void onDelete(Object o, boolean unknown) { changed(); }
        };
        services.addEventHandler(changed);
        endpoints.addEventHandler(changed);
        services.exceptionHandler((started, t) -> retry("services", t));
        endpoints.exceptionHandler((started, t) -> retry("endpoints", t));
    }

    /** Starts both informers; returns at once (they list, then watch, in the background). */
    public void start() {
        services.start().whenComplete((v, t) -> synced("services", t));
        endpoints.start().whenComplete((v, t) -> synced("endpoints", t));
    }

    /** True once both informers have listed everything and a zone was built from both lists. */
    public boolean ready() {
        return ready.get();
    }

    private void synced(String what, Throwable t) {
        if (t != null) {
            if (!closed.get()) LOG.error("the {} informer stopped: {}", what, t.toString());
            return;
        }
        changed();
    }

    private boolean retry(String what, Throwable t) {
        String text = Objects.requireNonNullElse(t.getMessage(), t.toString());
        if (!text.equals(problems.put(what, text))) LOG.warn("listing/watching {} failed, retrying: {}", what, text);
        return true;
    }

    private void changed() {
        if (pending.compareAndSet(false, true)) rebuilder.schedule(this::rebuild, DEBOUNCE_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void rebuild() {
        pending.set(false);
        try {
            boolean synced = services.hasSynced() && endpoints.hasSynced();
            onChange.accept(KubeObjects.toClusterState(services.getStore().list(), endpoints.getStore().list()));
            if (synced) {
                problems.clear();
                if (ready.compareAndSet(false, true)) LOG.info("services and endpoints listed: {} Services", services.getStore().list().size());
            }
        } catch (RuntimeException e) {
            LOG.error("building the zone failed: {}", e.toString(), e);
        }
    }

    /** Stops both informers and the rebuilds. */
    @Override
    public void close() {
        closed.set(true);
        services.close();
        endpoints.close();
        rebuilder.shutdownNow();
    }
}
