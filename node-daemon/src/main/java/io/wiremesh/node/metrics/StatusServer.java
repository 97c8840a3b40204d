package io.wiremesh.node.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * /healthz (the process answers), /readyz (pods can be wired and, in mesh mode, the WireGuard
 * interface is configured) and /metrics in Prometheus text format: peers, per-peer traffic and
 * handshake age, peers without a recent handshake, IPAM use. No key material, ever.
 */
public final class StatusServer implements AutoCloseable {
    /** After REJECT_AFTER_TIME without a handshake a peer's session is dead. */
    static final long STALE_HANDSHAKE_SECONDS = 180;
    private final HttpServer server;

    private StatusServer(HttpServer server) {
        this.server = server;
    }

    public static StatusServer start(InetSocketAddress address, Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey,
                                     BooleanSupplier ready) throws IOException {
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/healthz", x -> reply(x, 200, "ok\n"));
        s.createContext("/readyz", x -> reply(x, ready.getAsBoolean() ? 200 : 503, ready.getAsBoolean() ? "ready\n" : "not ready\n"));
        s.createContext("/metrics", x -> reply(x, 200, metrics(ipam, device, nodeByKey)));
        s.setExecutor(null);
        s.start();
        return new StatusServer(s);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    static String metrics(Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey) {
        StringBuilder sb = new StringBuilder();
        gauge(sb, "wiremesh_ipam_addresses_used", "Pod addresses in use on this node", ipam.all().size());
        gauge(sb, "wiremesh_ipam_ipv4_addresses_free", "Free IPv4 pod addresses in this node's block", ipam.free(false));
        if (device != null) {
            List<WireGuardDevice.PeerState> peers;
            boolean up;
            try {
                peers = device.peers();
                up = true;
            } catch (IOException e) {
                peers = List.of();
                up = false;
            }
            gauge(sb, "wiremesh_datapath_up", "1 when the WireGuard interface answers", up ? 1 : 0);
            gauge(sb, "wiremesh_peers", "WireGuard peers on this node", peers.size());
            long now = System.currentTimeMillis() / 1000;
            long stale = peers.stream().filter(p -> p.lastHandshakeEpochSeconds() == 0 || now - p.lastHandshakeEpochSeconds() > STALE_HANDSHAKE_SECONDS).count();
            gauge(sb, "wiremesh_peers_without_recent_handshake", "Peers with no handshake in the last 180 s (failing handshakes)", stale);
            header(sb, "wiremesh_peer_rx_bytes", "Bytes received from a peer", "counter");
            for (var p : peers) sb.append("wiremesh_peer_rx_bytes").append(labels(p, nodeByKey)).append(' ').append(p.rxBytes()).append('\n');
            header(sb, "wiremesh_peer_tx_bytes", "Bytes sent to a peer", "counter");
            for (var p : peers) sb.append("wiremesh_peer_tx_bytes").append(labels(p, nodeByKey)).append(' ').append(p.txBytes()).append('\n');
            header(sb, "wiremesh_peer_last_handshake_age_seconds", "Seconds since the latest handshake with a peer (-1: never)", "gauge");
            for (var p : peers) {
                long age = p.lastHandshakeEpochSeconds() == 0 ? -1 : now - p.lastHandshakeEpochSeconds();
                sb.append("wiremesh_peer_last_handshake_age_seconds").append(labels(p, nodeByKey)).append(' ').append(age).append('\n');
            }
        }
        return sb.toString();
    }

    private static String labels(WireGuardDevice.PeerState p, Map<String, String> nodeByKey) {
        return "{peer=\"" + p.publicKey() + "\",node=\"" + nodeByKey.getOrDefault(p.publicKey(), "") + "\"}";
    }

    private static void header(StringBuilder sb, String name, String help, String type) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void gauge(StringBuilder sb, String name, String help, long value) {
        header(sb, name, help, "gauge");
        sb.append(name).append(' ').append(value).append('\n');
    }

    private static void reply(HttpExchange x, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        x.sendResponseHeaders(code, b.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
