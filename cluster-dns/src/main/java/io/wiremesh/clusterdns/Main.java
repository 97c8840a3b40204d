package io.wiremesh.clusterdns;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code wiremesh-cluster-dns}: the cluster's DNS server. Finds the API server as kubectl does (in-cluster
 * ServiceAccount, or KUBECONFIG), and needs list/watch on services and endpoints in all namespaces.
 * <pre>
 *   wiremesh-cluster-dns [--listen 0.0.0.0:53] [--cluster-domain cluster.local] [--ttl 5]
 *                        [--upstream IP[:PORT]]... [--upstream-timeout 2] [--http-port 8080]
 * </pre>
 * Exit codes: 0 on SIGTERM, 1 when a socket cannot be bound or the cluster domain is invalid, 2 on a bad flag.
 */
@Command(name = "wiremesh-cluster-dns", mixinStandardHelpOptions = true, version = "wiremesh-cluster-dns 0.1.0",
        description = "The cluster's DNS server: Services and pods by name (Kubernetes DNS specification 1.1.0), other names forwarded.")
public final class Main implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    @Option(names = "--listen", defaultValue = "0.0.0.0:53", description = "UDP and TCP address (IP[:PORT]), default ${DEFAULT-VALUE}")
    String listen;

    @Option(names = "--cluster-domain", defaultValue = "cluster.local", description = "the zone served, default ${DEFAULT-VALUE}")
    String clusterDomain;

    @Option(names = "--ttl", defaultValue = "5", description = "TTL of every record, seconds, default ${DEFAULT-VALUE}")
    long ttl;

    @Option(names = "--upstream", paramLabel = "IP[:PORT]", description = "server for other names (repeatable; none: SERVFAIL)")
    List<String> upstreams = new ArrayList<>();

    @Option(names = "--upstream-timeout", defaultValue = "2", description = "seconds to wait for each upstream, default ${DEFAULT-VALUE}")
    int upstreamTimeout;

    @Option(names = "--http-port", defaultValue = "8080", description = "/health, /ready, /metrics (0: none), default ${DEFAULT-VALUE}")
    int httpPort;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Name origin;
        try {
            origin = Name.fromString(clusterDomain.endsWith(".") ? clusterDomain : clusterDomain + ".");
        } catch (TextParseException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "invalid --cluster-domain " + clusterDomain + ": " + e.getMessage());
        }
        InetSocketAddress bind = address("--listen", listen);
        List<InetSocketAddress> servers = upstreams.stream().map(u -> address("--upstream", u)).toList();
        String others = servers.isEmpty() ? "nobody (SERVFAIL)"
                : servers.stream().map(s -> s.getAddress().getHostAddress() + ":" + s.getPort()).toList() + " (timeout " + upstreamTimeout + " s each)";
        Metrics metrics = new Metrics();
        AtomicReference<Zone> zone = new AtomicReference<>(Zone.empty(origin, ttl));
        Upstream upstream = Upstream.NONE;
        if (!servers.isEmpty()) {
            Forwarder forwarder = new Forwarder(servers, Duration.ofSeconds(upstreamTimeout));
            upstream = q -> {
                Optional<org.xbill.DNS.Message> r = forwarder.exchange(q);
                metrics.forwarded(r.isPresent());
                return r;
            };
        }
        Exchange exchange = new Exchange(new Resolver(zone::get, upstream, !servers.isEmpty()), metrics);
        List<AutoCloseable> open = new ArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        try {
            open.add(new UdpServer(bind, exchange).start());
            open.add(new TcpServer(bind, exchange).start());
            KubernetesClient client = new KubernetesClientBuilder().build();
            open.add(client);
            KubeWatcher watcher = new KubeWatcher(client, state -> {
                Zone z = Zone.build(state, origin, ttl, System.currentTimeMillis() / 1000);
                zone.set(z);
                metrics.zone(z);
            });
            open.add(watcher);
            if (httpPort > 0) open.add(new StatusServer(new InetSocketAddress(httpPort), watcher::ready, metrics::render));
            watcher.start();
            LOG.info("serving {} (TTL {} s) on UDP and TCP {}:{}, API server {}, other names to {}{}", origin, ttl,
                    bind.getAddress().getHostAddress(), bind.getPort(), client.getMasterUrl(),
                    others, httpPort > 0 ? ", /health /ready /metrics on :" + httpPort : "");
        } catch (java.io.IOException e) {
            LOG.error("cannot start: {}", e.toString());
            closeAll(open);
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closeAll(open);
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    private InetSocketAddress address(String flag, String value) {
        try {
            return HostPort.parse(value, 53);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "invalid " + flag + ": " + e.getMessage());
        }
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (AutoCloseable c : open.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                // stopping anyway
            }
        }
    }
}
