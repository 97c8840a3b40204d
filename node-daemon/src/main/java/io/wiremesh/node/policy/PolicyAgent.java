package io.wiremesh.node.policy;

import io.wiremesh.api.policy.PolicySnapshot;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.wiremesh.node.egress.Nft;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Keeps this node's NetworkPolicy table ({@link PolicyTable}) what the cluster says, level-triggered like the node
 * agent: every event of the three watches (pods, namespaces, NetworkPolicies, all namespaces) and every pod wired or
 * removed here only marks the table dirty; one thread takes a snapshot of the informers' caches and of the pods wired
 * on this node, computes {@link PolicyPlan} and applies it as one nft transaction (skipped when the table's digest
 * already matches). A failed apply is retried every second; every 60 s the table is compared with the kernel again.
 * <p>
 * Fail closed: nothing is applied before all three watches have listed what exists (the table the previous daemon
 * left in the kernel stays in force meanwhile, as it does while the API server is unreachable: the caches keep the
 * last known state); a pod wired here is covered ({@link #awaitCovered}) before its ADD returns.
 */
public final class PolicyAgent implements AutoCloseable {
    /** How often the informers relist. */
    static final long RESYNC_MILLIS = 300_000;
    private static final long RECHECK_NANOS = 60_000_000_000L;
    private static final String WAITING = "waiting";
    private final KubernetesClient client;
    private final Supplier<List<PolicyPlan.LocalPod>> localPods;
    private final Nft nft;
    private final String tunnel;
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    /** The last failure logged per watch (each distinct one is logged once). */
    private final java.util.Map<SharedIndexInformer<?>, String> watchFailures = new java.util.concurrent.ConcurrentHashMap<>();
    private SharedIndexInformer<Pod> pods;
    private SharedIndexInformer<Namespace> namespaces;
    private SharedIndexInformer<NetworkPolicy> policies;
    private final Object lock = new Object();
    /**
     * Passes asked for / completed with success / failed applying (a pass answers the requests made before it
     * started). A pass that waits for the watches is not a failure: it answers nobody.
     */
    private long requested, applied, failed;
    private boolean dirty = true;
    private volatile boolean closed;
    private volatile String lastFailure;
    private volatile List<String> problems = List.of();
    private Thread loop;
    private final PolicyCounters counters;

    /**
     * @param localPods the pods wired on this node (from its IPAM record), read at every pass
     * @param nft       nft for the table {@link PolicyTable#TABLE}
     * @param tunnel    the WireGuard interface (never taken for a pod's veth)
     */
    public PolicyAgent(KubernetesClient client, Supplier<List<PolicyPlan.LocalPod>> localPods, Nft nft, String tunnel) {
        this.client = client;
        this.tunnel = tunnel;
        this.localPods = localPods;
        this.nft = nft.forTable(PolicyTable.TABLE);
        this.counters = new PolicyCounters(this.nft::counters);
    }

    /** Starts the watches and the loop; returns at once (the first pass waits for the watches to list). */
    public PolicyAgent start() {
        ResourceEventHandler<HasMetadata> changed = new ResourceEventHandler<>() {
            @Override
            public void onAdd(HasMetadata obj) {
                changed();
            }

            @Override
            public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                // Resyncs repeat the object: only a new resourceVersion is a change.
                if (!java.util.Objects.equals(oldObj.getMetadata().getResourceVersion(), newObj.getMetadata().getResourceVersion())) changed();
            }

            @Override
            public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                changed();
            }
        };
        // Every pod of the cluster, each kept as only what policy reads (labels, addresses, named ports): a tenth of the object.
        pods = client.pods().inAnyNamespace().runnableInformer(RESYNC_MILLIS);
        pods.itemStore(new BasicItemStore<>(Cache::metaNamespaceKeyFunc) {
            @Override
            public Pod put(String key, Pod pod) {
                return super.put(key, PolicySnapshot.slim(pod));
            }
        });
        pods.addEventHandler(cast(changed));
        inform(pods).start();
        // Started, not awaited (inform() would block until listed): the first pass waits for all three.
        namespaces = client.namespaces().runnableInformer(RESYNC_MILLIS);
        namespaces.addEventHandler(cast(changed));
        inform(namespaces).start();
        policies = client.network().v1().networkPolicies().inAnyNamespace().runnableInformer(RESYNC_MILLIS);
        policies.addEventHandler(cast(changed));
        inform(policies).start();
        loop = Thread.ofPlatform().name("policy-agent").daemon().start(this::run);
        return this;
    }

    @SuppressWarnings("unchecked")
    private static <T extends HasMetadata> ResourceEventHandler<T> cast(ResourceEventHandler<HasMetadata> h) {
        return (ResourceEventHandler<T>) (ResourceEventHandler<?>) h;
    }

    private <T> SharedIndexInformer<T> inform(SharedIndexInformer<T> i) {
        informers.add(i);
        // fabric8 stops an informer whose first list fails (a slow API server's timeout): this one keeps trying with
        // its backoff, since without all three lists no pass runs and no new pod is wired.
        i.exceptionHandler((started, t) -> retryAfter(i, t));
        return i;
    }

    private boolean retryAfter(SharedIndexInformer<?> informer, Throwable t) {
        if (closed) return false;
        String text = java.util.Objects.requireNonNullElse(t.getMessage(), t.toString());
        if (!text.equals(watchFailures.put(informer, text))) {
            System.err.println("wiremesh node-daemon: NetworkPolicy watch failed, retrying: " + informer.getApiTypeClass().getSimpleName() + ": " + text);
        }
        return true;
    }

    /** Something the table depends on changed (a watch event; a pod wired or removed here). */
    public void changed() {
        synchronized (lock) {
            dirty = true;
            requested++;
            lock.notifyAll();
        }
    }

    /**
     * Waits until a pass that started after this call has applied the table: every pod wired before the call is then
     * covered (bound to its veth, isolated as its policies say).
     *
     * @return false when that did not happen within {@code timeout} (the watches have not listed yet), or at once when
     *     that pass failed to apply the table ({@link #lastFailure} says why)
     */
    public boolean awaitCovered(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            dirty = true;
            long want = ++requested;
            lock.notifyAll();
            while (applied < want) {
                long left = deadline - System.nanoTime();
                // nft refused the table that would have covered it: fail now, the runtime retries the ADD.
                if (left <= 0 || closed || failed >= want) return false;
                lock.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /**
     * Packets this node's policies dropped since the daemon started: per isolated pod and direction (new connections
     * no policy allowed), and those a pod sent from an address not its own. Reads the table's counters (one nft call).
     */
    public PolicyCounters.Totals counters() {
        synchronized (counters) {
            counters.read();
            return counters.totals();
        }
    }

    /** Whether the last pass applied the table (false while waiting for the watches, or while nft fails). */
    public boolean enforcing() {
        synchronized (lock) {
            return lastFailure == null && applied > 0;
        }
    }

    /** Whether the last pass failed applying the table (not merely waiting for the watches to list). */
    public boolean applyFailed() {
        String f = lastFailure;
        return f != null && !f.startsWith(WAITING);
    }

    /** Why the last pass failed (null: it did not), for logs, readiness and the CNI's error message. */
    public String lastFailure() {
        return lastFailure;
    }

    /** What the policies ask that cannot be enforced as written ("ns/name: ..."), as of the last pass. */
    public List<String> problems() {
        return problems;
    }

    private boolean synced() {
        return pods.hasSynced() && namespaces.hasSynced() && policies.hasSynced();
    }

    private void run() {
        long lastRecheck = System.nanoTime();
        String logged = null;
        while (!closed) {
            long target;
            synchronized (lock) {
                while (!dirty && !closed) {
                    try {
                        lock.wait(1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (System.nanoTime() - lastRecheck > RECHECK_NANOS) break;
                }
                dirty = false;
                target = requested;
            }
            if (closed) return;
            if (System.nanoTime() - lastRecheck > RECHECK_NANOS) {
                nft.forget(); // someone may have flushed the ruleset: compare with the kernel again
                lastRecheck = System.nanoTime();
            }
            String failure = null;
            boolean waiting = !synced();
            if (waiting) {
                failure = WAITING + " for the pod, namespace and NetworkPolicy watches to list (the table in the kernel stays as it is)";
            } else {
                try {
                    PolicySnapshot snapshot = PolicySnapshot.from(pods.getStore().list(), namespaces.getStore().list(), policies.getStore().list());
                    PolicyPlan.NodePolicy plan = PolicyPlan.of(snapshot, localPods.get());
                    if (!plan.problems().equals(problems)) {
                        for (String p : plan.problems()) if (!problems.contains(p)) System.err.println("wiremesh node-daemon: NetworkPolicy " + p
                                + " (that rule allows nothing until it is fixed)");
                        problems = plan.problems();
                    }
                    String script = PolicyTable.script(plan, tunnel);
                    boolean wrote;
                    synchronized (counters) {
                        if (!nft.holds(script)) counters.read(); // the table's counters start again at 0 in the new one
                        wrote = nft.apply(script);
                        if (wrote) counters.replaced(plan.podChains());
                    }
                    if (wrote) {
                        System.err.println("wiremesh node-daemon: NetworkPolicy table applied: " + plan.ingress().size() + " isolated for ingress, "
                                + plan.egress().size() + " for egress, " + plan.policyChains().size() + " policy chains");
                    }
                } catch (IOException | RuntimeException e) {
                    failure = "cannot apply the NetworkPolicy table: " + e.getMessage();
                }
            }
            lastFailure = failure;
            if (failure != null && !failure.equals(logged)) System.err.println("wiremesh node-daemon: " + failure);
            logged = failure;
            synchronized (lock) {
                if (failure == null) {
                    applied = Math.max(applied, target);
                    lock.notifyAll();
                } else {
                    if (!waiting) {
                        failed = Math.max(failed, target);
                        lock.notifyAll();
                    }
                    dirty = true;
                    try {
                        lock.wait(waiting ? 200 : 1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    /** Stops the watches and the loop; the table stays in the kernel (a restarted daemon keeps every pod covered). */
    @Override
    public void close() {
        closed = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        if (loop != null) loop.interrupt();
        informers.forEach(SharedIndexInformer::close);
    }

    /** Removes the table (wiremesh leaves the node). */
    public static void remove(Nft nft) throws IOException {
        nft.forTable(PolicyTable.TABLE).remove();
    }
}
