package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * Written by the node-daemon (its proposal: keys, endpoints, their signature; its Ready condition and
 * summaries) and the operator (the Degraded condition of a proposal it did not accept). Holds public
 * material only: the private keys never leave the node. Nothing here is trusted for peering: the
 * operator accepts a signed proposal into the spec.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardNodeStatus {
    @Pattern(Formats.WG_KEY)
    @JsonPropertyDescription("The node's WireGuard public key (base64), as proposed: peers use spec.publicKey once accepted.")
    public String publicKey;

    @Pattern(Formats.WG_KEY) // 32 bytes of base64, like a WireGuard key
    @JsonPropertyDescription("The node's Ed25519 identity key (RFC 8032, 32 bytes, base64) that signs the proposal.")
    public String identityKey;

    @JsonPropertyDescription("The signature of this status' keys and endpoints by the identity key (io.wiremesh.api.identity.Proposal).")
    public ProposalSignature proposal;

    @Pattern("^[A-Za-z0-9+/]+$")
    @io.fabric8.generator.annotation.Size(min = 1608, max = 1608) // 1,206 bytes; RE2 (the API server's regexps) repeats at most 1,000
    @JsonPropertyDescription("The node's ML-KEM-768 public key (FIPS 203, X.509 SubjectPublicKeyInfo, base64): other nodes encapsulate the secrets of the post-quantum preshared keys between nodes to it. Its private half stays on the node.")
    public String kemPublicKey;

    @io.fabric8.generator.annotation.Size(max = 4)
    @JsonPropertyDescription("Underlay endpoints (ip:port) other nodes send to, as proposed: peers use spec.endpoints once accepted.")
    public List<@Pattern(Formats.ENDPOINT) String> endpoints;

    public WireGuardMeshSpec.Datapath datapath;

    @Min(1)
    @Max(65535)
    public Integer listenPort;

    @Min(1)
    @Max(Formats.MAX_GENERATION)
    @JsonPropertyDescription("The spec.keyGeneration the published key was made for: equal to the spec's once a rotation it asked for is done.")
    public Long keyGeneration;

    @JsonPropertyDescription("RFC 3339 time the published WireGuard key was made (the operator schedules rotations from it).")
    public String keyCreationTime;
    @JsonPropertyDescription("metadata.generation of the WireGuardMesh whose spec this node has applied (listen port, MTU, persistent keepalive, pools, egress). Behind the mesh's generation while a change is being applied or could not be (see the Ready condition).")
    public Long observedMeshGeneration;

    @JsonPropertyDescription("The post-quantum preshared keys this node holds with the other nodes (counts and times only: the keys never leave the node). Rewritten when the counts change and with the handshake summary.")
    public PresharedKeySummary presharedKeys;

    @io.fabric8.generator.annotation.Size(max = 10000) // bounds what one node's credentials can make every node-daemon hold
    @JsonPropertyDescription("Handshake summary per peer.")
    public List<PeerSummary> peers;

    @JsonPropertyDescription("The external devices (WireGuardPeers) this node is the gateway of, with their latest handshake; the operator"
            + " copies it into each WireGuardPeer's status (node-daemons cannot write WireGuardPeers).")
    @io.fabric8.generator.annotation.Size(max = 10000)
    public List<DeviceSummary> devices;

    @io.fabric8.generator.annotation.Size(max = 16)
    public List<Condition> conditions = new ArrayList<>();

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class DeviceSummary {
        @JsonPropertyDescription("The WireGuardPeer's name.")
        public String name;
        @JsonPropertyDescription("RFC 3339 time of the device's latest handshake with this node.")
        public String lastHandshakeTime;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class ProposalSignature {
        @Min(1)
        @Max(Formats.MAX_GENERATION)
        @JsonPropertyDescription("Strictly increasing per node: the operator accepts only one above spec.identity.proposalGeneration.")
        public Long generation;
        @Pattern("^[A-Za-z0-9+/]{86}==$")
        @JsonPropertyDescription("Ed25519 signature (64 bytes, base64) of the proposal's message.")
        public String signature;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class PeerSummary {
        @Pattern(Formats.WG_KEY)
        public String publicKey;
        public String node;
        @JsonPropertyDescription("RFC 3339 time of the latest handshake; unset if none yet.")
        public String lastHandshakeTime;
        public Long rxBytes;
        public Long txBytes;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class PresharedKeySummary {
        @JsonPropertyDescription("Other nodes this node shares a post-quantum preshared key with.")
        public Integer peers;
        @JsonPropertyDescription("Other nodes without one, or whose key is older than two intervals (the exchange with them is failing).")
        public Integer stale;
        @JsonPropertyDescription("RFC 3339 time the oldest of the current keys was made.")
        public String oldestKeyTime;
        @JsonPropertyDescription("Exchanges completed by this node since it started.")
        public Long rotations;
    }
}
