package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Written by the node-daemon. Holds public material only: the private key never leaves the node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardNodeStatus {
    @Pattern(Formats.WG_KEY)
    @JsonPropertyDescription("The node's WireGuard public key (base64).")
    public String publicKey;

    @Pattern("^[A-Za-z0-9+/]+$")
    @io.fabric8.generator.annotation.Size(min = 1608, max = 1608) // 1,206 bytes; RE2 (the API server's regexps) repeats at most 1,000
    @JsonPropertyDescription("The node's ML-KEM-768 public key (FIPS 203, X.509 SubjectPublicKeyInfo, base64): other nodes encapsulate the secrets of the post-quantum preshared keys between nodes to it. Its private half stays on the node.")
    public String kemPublicKey;

    @JsonPropertyDescription("Underlay endpoints (ip:port) other nodes send to.")
    public List<@Pattern(Formats.ENDPOINT) String> endpoints;

    public WireGuardMeshSpec.Datapath datapath;

    @Min(1)
    @Max(65535)
    public Integer listenPort;

    @Min(1)
    @JsonPropertyDescription("The spec.keyGeneration the published key was made for: equal to the spec's once a rotation it asked for is done.")
    public Long keyGeneration;

    @JsonPropertyDescription("RFC 3339 time the published WireGuard key was made (the operator schedules rotations from it).")
    public String keyCreationTime;
    @JsonPropertyDescription("metadata.generation of the WireGuardMesh whose spec this node has applied (listen port, MTU, persistent keepalive, pools, egress). Behind the mesh's generation while a change is being applied or could not be (see the Ready condition).")
    public Long observedMeshGeneration;

    @JsonPropertyDescription("The post-quantum preshared keys this node holds with the other nodes (counts and times only: the keys never leave the node). Rewritten when the counts change and with the handshake summary.")
    public PresharedKeySummary presharedKeys;

    @JsonPropertyDescription("Handshake summary per peer.")
    public List<PeerSummary> peers;

    public List<Condition> conditions = new ArrayList<>();

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
