package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What this node writes about itself into its WireGuardNode's status: its public keys (WireGuard,
 * and ML-KEM for the preshared keys between nodes) and endpoint (what every other node peers with), the datapath and mesh generation it runs, its Ready condition,
 * and a per-peer handshake summary; as the gateway of external devices, each device's latest
 * handshake into its WireGuardPeer's status. Only status subresources are written.
 */
final class MemberStatus {
    private final KubernetesClient client;
    private final String name;
    /** The WireGuard key published: one value, so no write mixes two keys' fields. */
    private record PublishedKey(String publicKey, long generation, String creationTime) {}

    private volatile PublishedKey key;
    private final String kemPublicKey;
    private final String endpointHost;

    /**
     * @param publicKey    this node's WireGuard public key (base64)
     * @param kemPublicKey this node's ML-KEM-768 public key (X.509, base64), or null for none
     * @param endpointHost the node address peers reach it at (IPv4 or IPv6, no brackets)
     */
    MemberStatus(KubernetesClient client, String mesh, String node, String publicKey, String kemPublicKey, String endpointHost) {
        this.client = client;
        this.name = WireGuardNode.nameFor(mesh, node);
        this.key = new PublishedKey(publicKey, 1, null);
        this.kemPublicKey = kemPublicKey;
        this.endpointHost = endpointHost;
    }

    /** The WireGuard key to publish from now on: its public half, the spec.keyGeneration it answers, when it was made. */
    void key(String publicKey, long generation, java.time.Instant created) {
        key = new PublishedKey(publicKey, generation, created.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    }

    /**
     * Publishes key, endpoint ({@code host:port}, IPv6 in brackets), port, datapath and applied
     * generation, and replaces the conditions with one Ready condition.
     *
     * @param datapath               "kernel" or "userspace", or null before one is chosen
     * @param observedMeshGeneration the WireGuardMesh generation this node has applied
     * @throws io.fabric8.kubernetes.client.KubernetesClientException when the API server refuses
     */
    void publish(boolean ready, String reason, String message, int listenPort, String datapath, Long observedMeshGeneration) {
        PublishedKey k = key;
        client.resources(WireGuardNode.class).withName(name).editStatus(w -> {
            WireGuardNodeStatus s = w.getStatus() == null ? new WireGuardNodeStatus() : w.getStatus();
            s.publicKey = k.publicKey();
            s.kemPublicKey = kemPublicKey;
            s.endpoints = List.of(endpointHost.indexOf(':') >= 0 ? "[" + endpointHost + "]:" + listenPort : endpointHost + ":" + listenPort);
            s.listenPort = listenPort;
            if (datapath != null) s.datapath = WireGuardMeshSpec.Datapath.valueOf(datapath.toUpperCase());
            s.keyGeneration = k.generation();
            s.keyCreationTime = k.creationTime();
            s.observedMeshGeneration = observedMeshGeneration;
            s.conditions = new ArrayList<>(List.of(new ConditionBuilder().withType("Ready").withStatus(ready ? "True" : "False")
                    .withReason(reason).withMessage(message).withLastTransitionTime(Instant.now().toString()).build()));
            w.setStatus(s);
            return w;
        });
    }

    /**
     * Writes the handshake summary (last handshake, bytes) of the node peers into this node's status,
     * sorted by node, and each served external device's latest handshake into its WireGuardPeer.
     *
     * @param nodeByKey     node name by peer public key
     * @param externalNames WireGuardPeer name by public key, for the devices this node is the gateway of
     */
    void reportPeers(List<PeerState> peers, Map<String, String> nodeByKey, Map<String, String> externalNames) {
        List<WireGuardNodeStatus.PeerSummary> summary = new ArrayList<>();
        for (PeerState p : peers) {
            String device = externalNames.get(p.publicKey());
            if (device != null) {
                if (p.lastHandshakeEpochSeconds() == 0) continue;
                String when = Instant.ofEpochSecond(p.lastHandshakeEpochSeconds()).toString();
                client.resources(WireGuardPeer.class).withName(device).editStatus(x -> {
                    if (x.getStatus() != null) x.getStatus().lastHandshakeTime = when;
                    return x;
                });
                continue;
            }
            WireGuardNodeStatus.PeerSummary s = new WireGuardNodeStatus.PeerSummary();
            s.publicKey = p.publicKey();
            s.node = nodeByKey.get(p.publicKey());
            if (p.lastHandshakeEpochSeconds() > 0) s.lastHandshakeTime = Instant.ofEpochSecond(p.lastHandshakeEpochSeconds()).toString();
            s.rxBytes = p.rxBytes();
            s.txBytes = p.txBytes();
            summary.add(s);
        }
        summary.sort(Comparator.comparing(x -> String.valueOf(x.node)));
        client.resources(WireGuardNode.class).withName(name).editStatus(w -> {
            if (w.getStatus() != null) w.getStatus().peers = summary;
            return w;
        });
    }

    /** Writes the preshared-key summary (counts and times, never a key) into this node's status; null removes it (exchange off). */
    void reportPresharedKeys(io.wiremesh.node.psk.PresharedKeyExchange.Summary summary) {
        WireGuardNodeStatus.PresharedKeySummary s;
        if (summary == null) {
            s = null;
        } else {
            s = new WireGuardNodeStatus.PresharedKeySummary();
            s.peers = summary.peers();
            s.stale = summary.stale();
            s.oldestKeyTime = summary.oldestKey() == null ? null : summary.oldestKey().toString();
            s.rotations = summary.rotations();
        }
        client.resources(WireGuardNode.class).withName(name).editStatus(w -> {
            if (w.getStatus() != null) w.getStatus().presharedKeys = s;
            return w;
        });
    }
}
