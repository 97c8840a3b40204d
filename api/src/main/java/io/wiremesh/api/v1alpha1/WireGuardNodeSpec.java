package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)

@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardNodeSpec {
    @Required
    @JsonPropertyDescription("The WireGuardMesh this node belongs to.")
    public String mesh;

    @Required
    @JsonPropertyDescription("The Kubernetes node.")
    public String nodeName;

    @Required
    @Size(min = 1, max = 2)
    @JsonPropertyDescription("The node's pod address block(s), one per family of the mesh; never moved once allocated.")
    public List<@Pattern(Formats.CIDR) String> podCIDRs;

    @Size(max = 2)
    @JsonPropertyDescription("Address(es) of the node's wiremesh0 interface: the first address of each block.")
    public List<String> overlayAddresses;

    @Size(max = 16)
    @JsonPropertyDescription("The node's own addresses (InternalIP and ExternalIP of its Node, copied by the operator): other nodes' pods reach"
            + " them through the tunnel, and they are never masqueraded.")
    public List<@Pattern(Formats.IP) String> nodeAddresses;

    @Min(1)
    @io.fabric8.generator.annotation.Max(Formats.MAX_GENERATION)
    @JsonPropertyDescription("Bumped by the operator to ask the node-daemon for a new key pair.")
    public Long keyGeneration;

    @Pattern(Formats.WG_KEY)
    @JsonPropertyDescription("The node's WireGuard public key as the operator accepted it (from a proposal in the status signed by"
            + " the node's identity): the key every other node peers with. A node's own credentials cannot write it.")
    public String publicKey;

    @Pattern("^[A-Za-z0-9+/]+$")
    @io.fabric8.generator.annotation.Size(min = 1608, max = 1608)
    @JsonPropertyDescription("The node's ML-KEM-768 public key as accepted (see status.kemPublicKey): the key other nodes encapsulate to.")
    public String kemPublicKey;

    @Size(max = 4)
    @JsonPropertyDescription("The node's underlay endpoints (ip:port) as accepted: where other nodes send.")
    public List<@Pattern(Formats.ENDPOINT) String> endpoints;

    @JsonPropertyDescription("The node's signing identity, trusted on first use and bound to its Node object; written by the operator.")
    public Identity identity;

    /**
     * The Ed25519 key a node-daemon keeps on its disk and signs its proposals with, as the operator
     * accepted it: on the node's first proposal (trust on first use), again only for a re-created
     * Node (a new metadata.uid) or an admin's approval of the new key's fingerprint.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class Identity {
        @Pattern(Formats.WG_KEY) // 32 bytes of base64, like a WireGuard key
        @JsonPropertyDescription("The node's Ed25519 public key (RFC 8032, 32 bytes, base64).")
        public String signingKey;

        @JsonPropertyDescription("SHA256: and the unpadded base64 SHA-256 of the signing key: what `wiremesh node approve` takes.")
        public String fingerprint;

        @JsonPropertyDescription("metadata.uid of the Node when this identity was accepted: only a re-created Node may present a new one unapproved.")
        public String nodeUID;

        @Min(1)
        @io.fabric8.generator.annotation.Max(Formats.MAX_GENERATION)
        @JsonPropertyDescription("Generation of the latest accepted proposal: only a higher one is accepted (no replay).")
        public Long proposalGeneration;

        @JsonPropertyDescription("RFC 3339 time this identity was accepted.")
        public String acceptedTime;
    }

}
