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
    @JsonPropertyDescription("Bumped by the operator to ask the node-daemon for a new key pair.")
    public Long keyGeneration;

}
