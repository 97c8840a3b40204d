package io.wiremesh.clusterdns;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Health, readiness and metrics over HTTP (the JDK's server): {@code GET /health} 200 while the process runs,
 * {@code GET /ready} 200 once the Service and Endpoints informers have synced (503 before), {@code GET /metrics}
 * the {@link Metrics} in Prometheus text format. Anything else: 404.
 */
public final class StatusServer implements AutoCloseable {
    private final HttpServer server;

    /**
     * Binds and starts.
     *
     * @param bind address and port (port 0: any free port)
     * @param ready whether the zone is complete
     * @param metrics the Prometheus text
     * @throws IOException when the address cannot be bound
     */
    public StatusServer(InetSocketAddress bind, BooleanSupplier ready, Supplier<String> metrics) throws IOException {
        server = HttpServer.create(bind, 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", x -> {
            try (x) {
                switch (x.getRequestURI().getPath()) {
                    case "/health" -> send(x, 200, "text/plain", "ok\n");
                    case "/ready" -> send(x, ready.getAsBoolean() ? 200 : 503, "text/plain", ready.getAsBoolean() ? "ready\n" : "services and endpoints not listed yet\n");
                    case "/metrics" -> send(x, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.get());
                    default -> send(x, 404, "text/plain", "not found\n");
                }
            }
        });
        server.start();
    }

    /** The bound address. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        x.sendResponseHeaders(status, b.length);
        try (OutputStream o = x.getResponseBody()) {
            o.write(b);
        }
    }

    /** Stops at once. */
    @Override
    public void close() {
        server.stop(0);
    }
}
