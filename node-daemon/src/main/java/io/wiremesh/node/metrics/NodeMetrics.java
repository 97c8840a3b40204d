package io.wiremesh.node.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.wg.WireGuardDevice;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The node-daemon's metrics, rendered in the Prometheus text format (0.0.4) by Micrometer's
 * Prometheus registry. All but the preshared-key counters are gauges, so the names are the ones the
 * daemon has always exposed (Micrometer adds {@code _total} to a counter):
 * <ul>
 *   <li>{@code wiremesh_ipam_addresses_used}, {@code wiremesh_ipam_ipv4_addresses_free}: pod addresses
 *       in use, free IPv4 addresses in this node's block;</li>
 *   <li>mesh mode only: {@code wiremesh_datapath_up} (1 when the WireGuard interface answers),
 *       {@code wiremesh_datapath_unresponsive} (1 when a userspace datapath took the request and did not answer within
 *       {@link io.wiremesh.node.wg.UapiDevice#TIMEOUT}: it hangs, rather than being down),
 *       {@code wiremesh_peers}, {@code wiremesh_peers_without_recent_handshake} (none within
 *       {@value #STALE_HANDSHAKE_SECONDS} s, or never);</li>
 *   <li>mesh mode only, per peer, labels {@code peer} (public key, base64) and {@code node} (its node's
 *       name, empty when unknown): {@code wiremesh_peer_rx_bytes}, {@code wiremesh_peer_tx_bytes} (bytes
 *       since the datapath started) and {@code wiremesh_peer_last_handshake_age_seconds} (-1: never).
 *       A removed peer's series disappear at the next scrape.</li>
 *   <li>mesh mode with the post-quantum preshared keys: {@code wiremesh_psk_rotations_total},
 *       {@code wiremesh_psk_failures_total}, {@code wiremesh_psk_fallbacks_total} (counters since start),
 *       {@code wiremesh_psk_peers} and {@code wiremesh_psk_stale_peers} (gauges).</li>
 *   <li>with NetworkPolicy enforcement: {@code wiremesh_policy_enforcing} (1 once the table is applied and while the
 *       last pass succeeded), {@code wiremesh_policy_denied_packets} per isolated pod, labels {@code namespace},
 *       {@code pod}, {@code direction} (ingress/egress: new connections no policy allowed, since the daemon started),
 *       {@code wiremesh_policy_spoofed_packets} (sent by a pod from an address not its own). The table's counters are
 *       read once per scrape.</li>
 *   <li>with the CNI plugin installed: {@code wiremesh_cni_preceding_configurations}, {@code wiremesh_cni_intact}
 *       ({@link #cni}).</li>
 * </ul>
 * The interface is read once per scrape (one UAPI or netlink dump), not once per meter. No key
 * material, ever: a public key is the only key that appears.
 */
final class NodeMetrics implements AutoCloseable {
    /** After REJECT_AFTER_TIME without a handshake a peer's session is dead. */
    static final long STALE_HANDSHAKE_SECONDS = 180;

    /** What one read of the interface found; {@code now} is when, in Unix seconds. */
    private record Reading(boolean up, boolean hung, Map<String, PeerState> peers, long now, long stale) {
        static final Reading NONE = new Reading(false, false, Map.of(), 0, 0);
    }

    /** One per-peer metric: a row per peer, its value read from the latest reading. */
    private record PeerSeries(MultiGauge gauge, PeerValue value) {}

    /** A per-peer value from a reading. */
    private interface PeerValue {
        double of(PeerState peer, Reading reading);
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final WireGuardDevice device;
    private final Map<String, String> nodeByKey;
    private final LongSupplier nowEpochSeconds;
    private final List<PeerSeries> perPeer = new ArrayList<>();
    private volatile Reading last = Reading.NONE;
    private final io.wiremesh.node.policy.PolicyAgent policy;
    private final MultiGauge policyDenied;
    private volatile io.wiremesh.node.policy.PolicyCounters.Totals policyTotals = new io.wiremesh.node.policy.PolicyCounters.Totals(Map.of(), 0, null);

    /**
     * @param ipam            this node's pod addresses
     * @param device          the WireGuard interface, or null outside mesh mode (no datapath or peer metrics)
     * @param nodeByKey       node name by peer public key (base64), read at each scrape
     * @param nowEpochSeconds the clock for handshake ages, in Unix seconds
     * @param psk             the preshared-key exchange with the other nodes, or null for none
     */
    NodeMetrics(Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey, LongSupplier nowEpochSeconds,
                io.wiremesh.node.psk.PresharedKeyExchange psk) {
        this(ipam, device, nodeByKey, nowEpochSeconds, psk, null);
    }

    /** @param policy the NetworkPolicy enforcement, or null for none */
    NodeMetrics(Ipam ipam, WireGuardDevice device, Map<String, String> nodeByKey, LongSupplier nowEpochSeconds,
                io.wiremesh.node.psk.PresharedKeyExchange psk, io.wiremesh.node.policy.PolicyAgent policy) {
        this.policy = policy;
        if (policy != null) {
            Gauge.builder("wiremesh.policy.enforcing", policy, x -> x.enforcing() ? 1 : 0)
                    .description("1 while this node's NetworkPolicy table is applied and up to date").strongReference(true).register(registry);
            Gauge.builder("wiremesh.policy.spoofed.packets", this, m -> m.policyTotals.spoofed())
                    .description("Packets dropped because a pod sent them from an address not its own").strongReference(true).register(registry);
            policyDenied = MultiGauge.builder("wiremesh.policy.denied.packets")
                    .description("New connections' packets dropped because no NetworkPolicy selecting the pod allowed them").register(registry);
        } else {
            policyDenied = null;
        }
        this.device = device;
        this.nodeByKey = nodeByKey;
        this.nowEpochSeconds = nowEpochSeconds;
        Gauge.builder("wiremesh.ipam.addresses.used", ipam, i -> i.all().size()).description("Pod addresses in use on this node")
                .strongReference(true).register(registry);
        Gauge.builder("wiremesh.ipam.ipv4.addresses.free", ipam, i -> i.free(false)).description("Free IPv4 pod addresses in this node's block")
                .strongReference(true).register(registry);
        // While it is 1 the two above read 0 used and all free: the state is not known.
        Gauge.builder("wiremesh.ipam.state.unreadable", ipam, i -> i.problem() == null ? 0 : 1)
                .description("1 while the IPAM state file cannot be read (no pod gets an address on this node)").strongReference(true).register(registry);
        if (psk != null) {
            io.micrometer.core.instrument.FunctionCounter.builder("wiremesh.psk.rotations", psk, x -> x.rotations())
                    .description("Post-quantum preshared-key exchanges completed with other nodes").register(registry);
            io.micrometer.core.instrument.FunctionCounter.builder("wiremesh.psk.failures", psk, x -> x.failures())
                    .description("Preshared-key offers given up, refused or impossible").register(registry);
            io.micrometer.core.instrument.FunctionCounter.builder("wiremesh.psk.fallbacks", psk, x -> x.fallbacks())
                    .description("Preshared keys dropped because handshakes with them failed (a new chain followed)").register(registry);
            Gauge.builder("wiremesh.psk.peers", psk, x -> x.summary() == null ? 0 : x.summary().peers())
                    .description("Other nodes this node shares a post-quantum preshared key with").strongReference(true).register(registry);
            Gauge.builder("wiremesh.psk.stale.peers", psk, x -> x.summary() == null ? 0 : x.summary().stale())
                    .description("Other nodes without a preshared key, or with one older than two intervals").strongReference(true).register(registry);
        }
        if (device == null) return;
        gauge("wiremesh.datapath.up", "1 when the WireGuard interface answers", r -> r.up() ? 1 : 0);
        gauge("wiremesh.datapath.unresponsive", "1 when the userspace datapath took the request but did not answer in time (it hangs)",
                r -> r.hung() ? 1 : 0);
        gauge("wiremesh.peers", "WireGuard peers on this node", r -> r.peers().size());
        gauge("wiremesh.peers.without.recent.handshake", "Peers with no handshake in the last 180 s (failing handshakes)", Reading::stale);
        perPeer("wiremesh.peer.rx.bytes", "Bytes received from a peer", (p, r) -> p.rxBytes());
        perPeer("wiremesh.peer.tx.bytes", "Bytes sent to a peer", (p, r) -> p.txBytes());
        perPeer("wiremesh.peer.last.handshake.age.seconds", "Seconds since the latest handshake with a peer (-1: never)",
                (p, r) -> p.lastHandshakeEpochSeconds() == 0 ? -1 : r.now() - p.lastHandshakeEpochSeconds());
    }

    /**
     * {@code wiremesh_cni_preceding_configurations}: network configurations on the node that the runtime reads before
     * wiremesh's (new pods get their network, not the mesh's), and {@code wiremesh_cni_intact} (1 while the socket,
     * plugin and configuration are in place).
     */
    void cni(io.wiremesh.node.cni.CniRepair repair) {
        Gauge.builder("wiremesh.cni.preceding.configurations", repair, r -> r.preceding().size())
                .description("Network configurations the runtime reads before wiremesh's (new pods would not be on the mesh)")
                .strongReference(true).register(registry);
        Gauge.builder("wiremesh.cni.intact", repair, r -> r.intact() ? 1 : 0)
                .description("1 while the CNI socket, plugin and configuration are in place").strongReference(true).register(registry);
    }

    private void gauge(String name, String help, ToDoubleFunction<Reading> value) {
        Gauge.builder(name, this, m -> value.applyAsDouble(m.last)).description(help).strongReference(true).register(registry);
    }

    private void perPeer(String name, String help, PeerValue value) {
        perPeer.add(new PeerSeries(MultiGauge.builder(name).description(help).register(registry), value));
    }

    /** Reads the interface once, brings the per-peer series in line with its peers, and renders every meter. */
    synchronized String scrape() {
        if (device != null) read();
        if (policy != null) {
            io.wiremesh.node.policy.PolicyCounters.Totals totals = policy.counters();
            policyTotals = totals;
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            for (var e : totals.denied().entrySet()) {
                rows.add(MultiGauge.Row.of(Tags.of("namespace", e.getKey().namespace(), "pod", e.getKey().pod(), "direction", e.getKey().direction()),
                        e.getValue()));
            }
            policyDenied.register(rows, true);
        }
        return registry.scrape();
    }

    private void read() {
        List<PeerState> peers;
        boolean up, hung = false;
        try {
            peers = device.peers();
            up = true;
        } catch (IOException e) {
            peers = List.of(); // the datapath is down or restarting: wiremesh_datapath_up says so
            up = false;
            hung = io.wiremesh.node.wg.DatapathUnresponsive.in(e);
        }
        long now = nowEpochSeconds.getAsLong();
        Map<String, PeerState> byKey = new LinkedHashMap<>();
        long stale = 0;
        for (PeerState p : peers) {
            byKey.put(p.publicKey(), p);
            if (p.lastHandshakeEpochSeconds() == 0 || now - p.lastHandshakeEpochSeconds() > STALE_HANDSHAKE_SECONDS) stale++;
        }
        Reading reading = new Reading(up, hung, byKey, now, stale);
        last = reading;
        for (PeerSeries series : perPeer) {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            for (PeerState p : peers) {
                Tags tags = Tags.of("peer", p.publicKey(), "node", nodeByKey.getOrDefault(p.publicKey(), ""));
                rows.add(MultiGauge.Row.of(tags, p.publicKey(), key -> peerValue(series.value(), key)));
            }
            // Overwrite off: a peer that stays keeps its meter (its value is read from the latest reading);
            // rows not in this list, i.e. removed peers or a peer whose node changed, are removed from the registry.
            series.gauge().register(rows, false);
        }
    }

    private double peerValue(PeerValue value, String key) {
        Reading r = last;
        PeerState p = r.peers().get(key);
        return p == null ? Double.NaN : value.of(p, r);
    }

    @Override
    public void close() {
        registry.close();
    }
}
