package io.wiremesh.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.wg.WireGuardDevice;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /metrics, /healthz and /readyz over HTTP, with a stand-in WireGuard interface and a fixed clock. */
class StatusServerTest {
    private static final long NOW = 1_700_000_300L;
    private static final String A = "aGFuZHNoYWtlZCtwZWVyL0FBQUFBQUFBQUFBQUFBQUE=";
    private static final String B = "bmV2ZXIrcGVlci9CQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

    /** A WireGuard interface that reports what the test sets, or fails like a datapath that is gone. */
    private static final class StandIn implements WireGuardDevice {
        volatile List<PeerState> peers = List.of();
        volatile boolean down;
        /** Takes the request and never answers (the client's bound runs out). */
        volatile boolean hung;

        public String kind() {
            return "userspace";
        }

        public void configure(byte[] privateKey, int listenPort) {}

        public boolean configured() {
            return !down;
        }

        public void upsertPeer(PeerConfig peer, PeerState current) {}

        public void removePeer(String publicKey) {}

        public List<PeerState> peers() throws IOException {
            if (hung) throw new io.wiremesh.node.wg.DatapathUnresponsive("did not answer within 5 s");
            if (down) throw new IOException("connection refused");
            return peers;
        }
    }

    @TempDir
    Path dir;
    private final StandIn device = new StandIn();
    private final Map<String, String> nodeByKey = new ConcurrentHashMap<>(Map.of(A, "node-a"));
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean live = new AtomicBoolean(true);
    private Ipam ipam;
    private StatusServer server;

    @BeforeEach
    void start() throws IOException {
        ipam = new Ipam(dir.resolve("ipam.json"), List.of(Cidr.parse("10.42.2.0/29"))); // usable: .2 to .6
        ipam.allocate("c1", "eth0", "default", "p1");
        ipam.allocate("c2", "eth0", "default", "p2");
        device.peers = List.of(new PeerState(A, "198.18.0.7:51820", List.of("10.42.1.0/24"), NOW - 100, 2048, 1024),
                new PeerState(B, null, List.of("10.42.3.0/24"), 0, 0, 0));
        server = serve(device);
    }

    private StatusServer serve(WireGuardDevice d) throws IOException {
        return StatusServer.start(new InetSocketAddress("127.0.0.1", 0), new NodeMetrics(ipam, d, nodeByKey, () -> NOW, null), ready::get, live::get);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static HttpResponse<String> get(StatusServer s, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The metric names that have samples. */
    private static Set<String> names(String body) {
        return body.lines().filter(l -> !l.startsWith("#") && !l.isBlank()).map(l -> l.split("[{ ]", 2)[0]).collect(Collectors.toSet());
    }

    @Test
    void metricsHaveTheirNamesLabelsValuesAndContentType() throws Exception {
        HttpResponse<String> r = get(server, "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
        assertThat(names(r.body())).containsExactlyInAnyOrder("wiremesh_ipam_addresses_used", "wiremesh_ipam_ipv4_addresses_free",
                "wiremesh_ipam_state_unreadable", "wiremesh_datapath_up", "wiremesh_datapath_unresponsive", "wiremesh_peers", "wiremesh_peers_without_recent_handshake", "wiremesh_peer_rx_bytes",
                "wiremesh_peer_tx_bytes", "wiremesh_peer_last_handshake_age_seconds");
        assertThat(r.body().lines()).contains(
                "# HELP wiremesh_peers WireGuard peers on this node",
                "# TYPE wiremesh_peers gauge",
                "# TYPE wiremesh_peer_rx_bytes gauge",
                "wiremesh_ipam_addresses_used 2.0",
                "wiremesh_ipam_ipv4_addresses_free 3.0",
                "wiremesh_ipam_state_unreadable 0.0",
                "wiremesh_datapath_up 1.0",
                "wiremesh_peers 2.0",
                "wiremesh_peers_without_recent_handshake 1.0",
                "wiremesh_peer_rx_bytes{node=\"node-a\",peer=\"" + A + "\"} 2048.0",
                "wiremesh_peer_tx_bytes{node=\"node-a\",peer=\"" + A + "\"} 1024.0",
                "wiremesh_peer_last_handshake_age_seconds{node=\"node-a\",peer=\"" + A + "\"} 100.0",
                "wiremesh_peer_rx_bytes{node=\"\",peer=\"" + B + "\"} 0.0",
                "wiremesh_peer_last_handshake_age_seconds{node=\"\",peer=\"" + B + "\"} -1.0");
    }

    @Test
    void aRemovedPeersSeriesAreGoneAndAStayingPeerIsCurrent() throws Exception {
        assertThat(get(server, "/metrics").body()).contains(B);
        device.peers = List.of(new PeerState(A, "198.18.0.7:51820", List.of("10.42.1.0/24"), NOW - 10, 4096, 1024));
        String body = get(server, "/metrics").body();
        assertThat(body).doesNotContain(B).contains("wiremesh_peers 1.0", "wiremesh_peers_without_recent_handshake 0.0",
                "wiremesh_peer_rx_bytes{node=\"node-a\",peer=\"" + A + "\"} 4096.0",
                "wiremesh_peer_last_handshake_age_seconds{node=\"node-a\",peer=\"" + A + "\"} 10.0");
        nodeByKey.put(A, "node-a2"); // its node's name changed: one series per peer, under the new label
        assertThat(get(server, "/metrics").body()).doesNotContain("node=\"node-a\"").contains("wiremesh_peer_tx_bytes{node=\"node-a2\",peer=\"" + A + "\"} 1024.0");
    }

    @Test
    void aDatapathThatDoesNotAnswerIsDownWithoutPeers() throws Exception {
        get(server, "/metrics");
        device.down = true;
        String body = get(server, "/metrics").body();
        assertThat(body).contains("wiremesh_datapath_up 0.0", "wiremesh_datapath_unresponsive 0.0", "wiremesh_peers 0.0").doesNotContain(A)
                .doesNotContain("wiremesh_peer_rx_bytes");
        device.hung = true;
        assertThat(get(server, "/metrics").body()).as("down is not hung").contains("wiremesh_datapath_up 0.0", "wiremesh_datapath_unresponsive 1.0");
    }

    @Test
    void outsideMeshModeOnlyIpamIsReported() throws Exception {
        try (StatusServer plain = serve(null)) {
            assertThat(names(get(plain, "/metrics").body())).containsExactlyInAnyOrder("wiremesh_ipam_addresses_used", "wiremesh_ipam_ipv4_addresses_free",
                    "wiremesh_ipam_state_unreadable");
        }
    }

    @Test
    void probesAnswerAsBefore() throws Exception {
        assertThat(get(server, "/healthz")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok\n");
        });
        assertThat(get(server, "/readyz")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).isEqualTo("not ready\n");
        });
        ready.set(true);
        assertThat(get(server, "/readyz")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ready\n");
        });
        live.set(false); // e.g. the CNI socket could not be put back for a while
        assertThat(get(server, "/healthz")).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).isEqualTo("needs a restart (see the log)\n");
        });
    }
}
