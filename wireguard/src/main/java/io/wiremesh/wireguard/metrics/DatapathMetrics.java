package io.wiremesh.wireguard.metrics;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.device.Drop;
import io.wiremesh.wireguard.offload.Fallbacks;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The datapath's own Prometheus metrics, served on {@code GET /metrics} (text format 0.0.4) so that
 * abuse is visible without a debugger — a handshake flood shows as {@code cookie_required} and
 * {@code rate_limited} drops, a peer with a stale key as {@code decrypt_failed}:
 * <ul>
 *   <li>{@code wiremesh_wg_dropped_total{interface, reason}}: datagrams and packets dropped, one series per
 *       {@link Drop} reason (lower case), read from the device's counters at scrape time;</li>
 *   <li>{@code wiremesh_wg_offload_fallbacks_total{interface, kind, cause}}: offloaded writes the kernel refused and that
 *       were carried out without the offload ({@link Fallbacks}: kind {@code udp_segmentation} or {@code tun_coalescing},
 *       cause the errno's name);</li>
 *   <li>{@code wiremesh_wg_peers{interface}}: configured peers;</li>
 *   <li>{@code wiremesh_wg_under_load{interface}}: 1 while the handshake path answers with cookies
 *       (whitepaper section 5.3), else 0.</li>
 * </ul>
 * Micrometer's Prometheus registry renders them; the JDK's HTTP server serves them.
 */
public final class DatapathMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer server;

    private DatapathMetrics(Device device, String ifname, InetSocketAddress address) throws IOException {
        for (Drop d : Drop.values()) {
            FunctionCounter.builder("wiremesh.wg.dropped", device, dev -> dev.drops(d))
                    .description("Datagrams and packets the datapath dropped, by reason")
                    .tag("interface", ifname).tag("reason", d.name().toLowerCase(Locale.ROOT)).register(registry);
        }
        for (Fallbacks.Kind k : Fallbacks.Kind.values()) {
            for (String cause : Fallbacks.CAUSES) {
                FunctionCounter.builder("wiremesh.wg.offload.fallbacks", k, kind -> Fallbacks.count(kind, cause))
                        .description("Offloaded writes the kernel refused and that were carried out without the offload, by kind and errno")
                        .tag("interface", ifname).tag("kind", k.label()).tag("cause", cause).register(registry);
            }
        }
        Gauge.builder("wiremesh.wg.peers", device, dev -> dev.peers().size()).description("Configured peers")
                .tag("interface", ifname).register(registry);
        Gauge.builder("wiremesh.wg.under.load", device, dev -> dev.underLoad() ? 1 : 0)
                .description("1 while handshake initiations are answered with cookie replies").tag("interface", ifname).register(registry);
        server = HttpServer.create(address, 8);
        server.createContext("/metrics", x -> {
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            x.sendResponseHeaders(200, body.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    /**
     * Serves {@code device}'s metrics on {@code address} ({@code HOST:PORT}; port 0 picks a free one).
     *
     * @throws IOException when the address cannot be bound
     * @throws IllegalArgumentException when {@code address} is not HOST:PORT
     */
    public static DatapathMetrics serve(Device device, String ifname, String address) throws IOException {
        int colon = address.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("metrics address '" + address + "' is not HOST:PORT (e.g. 127.0.0.1:9467)");
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metrics address '" + address + "' has no numeric port");
        }
        return new DatapathMetrics(device, ifname, new InetSocketAddress(host.isEmpty() ? "0.0.0.0" : host, port));
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        registry.close();
    }
}
