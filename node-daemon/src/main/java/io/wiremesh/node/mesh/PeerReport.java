package io.wiremesh.node.mesh;

import io.wiremesh.node.psk.PresharedKeyExchange;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The node agent's peer report job: reads the interface's peers every {@link #EVERY}, writes the
 * handshake summary into this node's status when a peer's health changed or {@link #INTERVAL} has
 * passed, hands the handshakes to the preshared-key exchange and writes its summary when its counts
 * change. Every node watches every WireGuardNode of its mesh, so frequent status writes would turn
 * into O(N^2) watch traffic; live counters are in /metrics.
 */
final class PeerReport {
    /** How often the peers are read (one GET of every peer: O(N) on both sides of the socket). */
    static final Duration EVERY = Duration.ofSeconds(10);
    /** The longest between two reports when no peer's health changed. */
    static final Duration INTERVAL = Duration.ofMinutes(5);
    /** A peer without a handshake for REJECT_AFTER_TIME (whitepaper §6.1: 180 s) has no usable session. */
    static final long HEALTHY_HANDSHAKE_SECONDS = 180;

    private final NodeReconciler reconciler;
    private final MemberStatus status;
    private final PresharedKeyExchange exchange;
    private Set<String> lastHealthy;
    private long lastReport = Long.MIN_VALUE;
    private PresharedKeyExchange.Summary lastSummary;
    private final Runnable markDirty;

    /** @param markDirty runs a pass soon (after the report found the datapath hanging) */
    PeerReport(NodeReconciler reconciler, MemberStatus status, PresharedKeyExchange exchange, Runnable markDirty) {
        this.reconciler = reconciler;
        this.status = status;
        this.exchange = exchange;
        this.markDirty = markDirty;
    }

    /**
     * One run of the job. A datapath that hangs is the passes' to report: they trust their record of the peers, so
     * the next one is made to read them (and meet the hang) at once.
     *
     * @throws IOException when the interface cannot be read (the datapath is not up, or hangs)
     */
    void run() throws IOException {
        WireGuardDevice device = reconciler.device();
        if (device == null || !device.configured()) return; // the reconcile pass reports a missing datapath
        List<WireGuardDevice.PeerState> peers;
        try {
            peers = device.peers();
        } catch (io.wiremesh.node.wg.DatapathUnresponsive e) {
            reconciler.rereadPeers();
            markDirty.run();
            throw e;
        }
        Set<String> healthy = healthyPeers(peers, Instant.now().getEpochSecond());
        long now = System.nanoTime();
        boolean report = !healthy.equals(lastHealthy) || lastReport == Long.MIN_VALUE || now - lastReport > INTERVAL.toNanos();
        if (report) {
            status.reportPeers(peers, reconciler.nodeByKey(), reconciler.externalNames());
            lastReport = now;
            lastHealthy = healthy;
        }
        if (exchange == null) return;
        Map<String, Long> handshakes = new HashMap<>();
        for (var p : peers) handshakes.put(p.publicKey(), p.lastHandshakeEpochSeconds());
        exchange.handshakes(handshakes);
        PresharedKeyExchange.Summary psk = exchange.summary();
        // Counts change rarely; the times and the rotation count ride along with the peer report.
        if (report || !sameCounts(psk, lastSummary)) {
            status.reportPresharedKeys(psk);
            lastSummary = psk;
        }
    }

    private static boolean sameCounts(PresharedKeyExchange.Summary a, PresharedKeyExchange.Summary b) {
        if (a == null || b == null) return a == b;
        return a.peers() == b.peers() && a.stale() == b.stale();
    }

    /** The public keys of the peers with a handshake less than {@link #HEALTHY_HANDSHAKE_SECONDS} before {@code nowEpochSeconds}. */
    static Set<String> healthyPeers(List<WireGuardDevice.PeerState> peers, long nowEpochSeconds) {
        Set<String> ok = new HashSet<>();
        for (var p : peers) {
            if (p.lastHandshakeEpochSeconds() > 0 && nowEpochSeconds - p.lastHandshakeEpochSeconds() < HEALTHY_HANDSHAKE_SECONDS) ok.add(p.publicKey());
        }
        return ok;
    }
}
