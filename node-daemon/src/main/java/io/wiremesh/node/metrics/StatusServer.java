package io.wiremesh.node.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * /healthz (the process answers), /readyz (pods can be wired and, in mesh mode, the WireGuard
 * interface is configured; 200 or 503) and /metrics in Prometheus text format ({@link NodeMetrics}:
 * peers, per-peer traffic and handshake age, peers without a recent handshake, IPAM use). No key
 * material, ever. Served by the JDK's HTTP server, one request at a time.
 */
public final class StatusServer implements AutoCloseable {
    /** The Prometheus text format, 0.0.4; the probes' plain-text answers go out with it too. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final NodeMetrics metrics;
    private final java.util.concurrent.ExecutorService threads;

    private StatusServer(HttpServer server, NodeMetrics metrics, java.util.concurrent.ExecutorService threads) {
        this.threads = threads;
        this.server = server;
        this.metrics = metrics;
    }

    /**
     * Serves on {@code address} (port 0 picks a free one).
     *
     * @param device    the WireGuard interface, or null outside mesh mode
     * @param nodeByKey node name by peer public key (base64), for the per-peer {@code node} label
     * @param psk       the preshared-key exchange with the other nodes, or null for none
     * @param ready     whether /readyz answers 200
     * @param live      whether /healthz answers 200 (false: only a restart helps; the kubelet's liveness probe restarts)
     * @throws IOException when the address cannot be bound
     */
    public static StatusServer start(InetSocketAddress address, Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey,
                                     io.wiremesh.node.psk.PresharedKeyExchange psk, BooleanSupplier ready, BooleanSupplier live) throws IOException {
        return start(address, ipam, device, nodeByKey, psk, null, ready, live);
    }

    /** {@link #start(InetSocketAddress, Ipam, WireGuardDevice, Map, io.wiremesh.node.psk.PresharedKeyExchange, BooleanSupplier, BooleanSupplier)} with the NetworkPolicy enforcement's metrics ({@code policy} null: none). */
    public static StatusServer start(InetSocketAddress address, Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey,
                                     io.wiremesh.node.psk.PresharedKeyExchange psk, io.wiremesh.node.policy.PolicyAgent policy,
                                     BooleanSupplier ready, BooleanSupplier live) throws IOException {
        return start(address, new NodeMetrics(ipam, device, nodeByKey, () -> System.currentTimeMillis() / 1000, psk, policy), ready, live);
    }

    static StatusServer start(InetSocketAddress address, NodeMetrics metrics, BooleanSupplier ready, BooleanSupplier live) throws IOException {
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/healthz", x -> {
            boolean l = live.getAsBoolean();
            reply(x, l ? 200 : 503, l ? "ok\n" : "needs a restart (see the log)\n");
        });
        s.createContext("/readyz", x -> {
            boolean r = ready.getAsBoolean(); // once: status and body must agree
            reply(x, r ? 200 : 503, r ? "ready\n" : "not ready\n");
        });
        s.createContext("/metrics", x -> reply(x, 200, metrics.scrape()));
        // Threads of their own: a scrape waits for the datapath (up to its UAPI bound), the kubelet's probes must not.
        var threads = java.util.concurrent.Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon().name("status-", 0).factory());
        s.setExecutor(threads);
        s.start();
        return new StatusServer(s, metrics, threads);
    }

    /** Adds the CNI entry points' metrics ({@link NodeMetrics#cni}). */
    public void reportCni(io.wiremesh.node.cni.CniRepair repair) {
        metrics.cni(repair);
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange x, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
        x.sendResponseHeaders(code, b.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
        metrics.close();
    }
}
