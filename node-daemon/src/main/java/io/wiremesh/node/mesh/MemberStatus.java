package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.node.keys.NodeIdentity;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What this node writes about itself into its WireGuardNode's status: its proposal (public keys,
 * WireGuard and ML-KEM for the preshared keys between nodes, and endpoint), signed by its identity
 * ({@link NodeIdentity}: the operator accepts it into the spec, which every other node peers with),
 * the datapath and mesh generation it runs, its Ready condition (other conditions, the operator's,
 * are kept), and a per-peer handshake summary; as the gateway of external devices, each device's latest
 * handshake (status.devices: the operator copies it into the WireGuardPeer). Only its own WireGuardNode's
 * status is written.
 */
final class MemberStatus implements NodePorts.StatusPort {
    private final KubernetesClient client;
    private final String name;
    /** The WireGuard key published: one value, so no write mixes two keys' fields. */
    private record PublishedKey(String publicKey, long generation, String creationTime) {}

    private volatile PublishedKey key;
    private final String kemPublicKey;
    private final String endpointHost;
    private final NodeIdentity identity;
    private final String node;
    /** The values last signed and their signature: a status rewrite with the same values signs nothing new. */
    private record Signed(String publicKey, String kemPublicKey, List<String> endpoints, NodeIdentity.Signed signature) {}
    private Signed signed;

    /**
     * @param publicKey    this node's WireGuard public key (base64)
     * @param kemPublicKey this node's ML-KEM-768 public key (X.509, base64), or null for none
     * @param endpointHost the node address peers reach it at (IPv4 or IPv6, no brackets)
     */
    MemberStatus(KubernetesClient client, String mesh, String node, NodeIdentity identity, String publicKey, String kemPublicKey,
                 String endpointHost) {
        this.client = client;
        this.node = node;
        this.identity = identity;
        this.name = WireGuardNode.nameFor(mesh, node);
        this.key = new PublishedKey(publicKey, 1, null);
        this.kemPublicKey = kemPublicKey;
        this.endpointHost = endpointHost;
    }

    /** The WireGuard key to publish from now on: its public half, the spec.keyGeneration it answers, when it was made. */
    @Override
    public void key(String publicKey, long generation, java.time.Instant created) {
        key = new PublishedKey(publicKey, generation, created.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    }

    /**
     * Publishes the signed proposal (keys and endpoint, {@code host:port}, IPv6 in brackets), port,
     * datapath and applied generation, and replaces the Ready condition.
     *
     * @param datapath               "kernel" or "userspace", or null before one is chosen
     * @param observedMeshGeneration the WireGuardMesh generation this node has applied
     * @throws io.fabric8.kubernetes.client.KubernetesClientException when the API server refuses
     * @throws java.io.UncheckedIOException when the proposal's generation cannot be recorded on disk (nothing is written)
     */
    @Override
    public void publish(boolean ready, String reason, String message, int listenPort, String datapath, Long observedMeshGeneration) {
        PublishedKey k = key;
        client.resources(WireGuardNode.class).withName(name).editStatus(w -> {
            WireGuardNodeStatus s = w.getStatus() == null ? new WireGuardNodeStatus() : w.getStatus();
            s.publicKey = k.publicKey();
            s.kemPublicKey = kemPublicKey;
            s.endpoints = List.of(endpointHost.indexOf(':') >= 0 ? "[" + endpointHost + "]:" + listenPort : endpointHost + ":" + listenPort);
            NodeIdentity.Signed sig = sign(w, s.publicKey, s.kemPublicKey, s.endpoints);
            s.identityKey = identity.publicKeyBase64();
            s.proposal = new WireGuardNodeStatus.ProposalSignature();
            s.proposal.generation = sig.generation();
            s.proposal.signature = sig.signature();
            s.listenPort = listenPort;
            if (datapath != null) s.datapath = WireGuardMeshSpec.Datapath.valueOf(datapath.toUpperCase());
            s.keyGeneration = k.generation();
            s.keyCreationTime = k.creationTime();
            s.observedMeshGeneration = observedMeshGeneration;
            List<io.fabric8.kubernetes.api.model.Condition> conditions = new ArrayList<>(s.conditions == null ? List.of() : s.conditions);
            conditions.removeIf(c -> READY.equals(c.getType()));
            conditions.addFirst(new ConditionBuilder().withType(READY).withStatus(ready ? "True" : "False")
                    .withReason(reason).withMessage(message).withLastTransitionTime(Instant.now().toString()).build());
            s.conditions = conditions;
            w.setStatus(s);
            return w;
        });
    }

    static final String READY = "Ready";

    /**
     * Whether {@code s} holds the proposal this node last wrote (keys, endpoints, identity, signature);
     * true before it wrote any. False means someone else wrote this node's status (any node's credentials
     * can): the operator refuses what they wrote, and this node writes its own proposal back.
     */
    synchronized boolean holdsOwnProposal(WireGuardNodeStatus s) {
        Signed last = signed;
        if (last == null) return true;
        return s != null && last.publicKey().equals(s.publicKey) && java.util.Objects.equals(last.kemPublicKey(), s.kemPublicKey)
                && last.endpoints().equals(s.endpoints) && identity.publicKeyBase64().equals(s.identityKey) && s.proposal != null
                && java.util.Objects.equals(last.signature().generation(), s.proposal.generation)
                && last.signature().signature().equals(s.proposal.signature);
    }

    /** The signature of these values: the last one when they are the same, else a new one above the accepted generation. */
    private synchronized NodeIdentity.Signed sign(WireGuardNode w, String publicKey, String kemPublicKey, List<String> endpoints) {
        Signed last = signed;
        if (last != null && last.publicKey().equals(publicKey) && java.util.Objects.equals(last.kemPublicKey(), kemPublicKey)
                && last.endpoints().equals(endpoints)) return last.signature();
        var accepted = w.getSpec() == null || w.getSpec().identity == null ? null : w.getSpec().identity.proposalGeneration;
        try {
            NodeIdentity.Signed sig = identity.propose(name, node, accepted == null ? 0 : accepted, publicKey, kemPublicKey, endpoints);
            signed = new Signed(publicKey, kemPublicKey, endpoints, sig);
            return sig;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot record the proposal's generation: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the handshake summary (last handshake, bytes) of the node peers into this node's status,
     * sorted by node, and each served external device's latest handshake (status.devices, by name).
     *
     * @param nodeByKey     node name by peer public key
     * @param externalNames WireGuardPeer name by public key, for the devices this node is the gateway of
     */
    void reportPeers(List<PeerState> peers, Map<String, String> nodeByKey, Map<String, String> externalNames) {
        List<WireGuardNodeStatus.PeerSummary> summary = new ArrayList<>();
        List<WireGuardNodeStatus.DeviceSummary> devices = new ArrayList<>();
        for (PeerState p : peers) {
            String device = externalNames.get(p.publicKey());
            if (device != null) {
                if (p.lastHandshakeEpochSeconds() == 0) continue;
                WireGuardNodeStatus.DeviceSummary d = new WireGuardNodeStatus.DeviceSummary();
                d.name = device;
                d.lastHandshakeTime = Instant.ofEpochSecond(p.lastHandshakeEpochSeconds()).toString();
                devices.add(d);
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
        devices.sort(Comparator.comparing(x -> x.name));
        client.resources(WireGuardNode.class).withName(name).editStatus(w -> {
            if (w.getStatus() != null) {
                w.getStatus().peers = summary;
                w.getStatus().devices = devices.isEmpty() ? null : devices;
            }
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
