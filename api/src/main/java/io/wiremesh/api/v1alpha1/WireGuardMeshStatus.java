package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)

@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardMeshStatus {
    @JsonPropertyDescription("Ready: every selected node has its block. Degraded: something to fix; the message says what.")
    public List<Condition> conditions = new ArrayList<>();
    public Long observedGeneration;
    @JsonPropertyDescription("Nodes selected by the mesh.")
    public Integer nodes;
    @JsonPropertyDescription("Nodes whose node-daemon reports its WireGuard interface ready.")
    public Integer readyNodes;
    @JsonPropertyDescription("Nodes whose node-daemon has applied the current spec (their WireGuardNode's status.observedMeshGeneration equals this mesh's metadata.generation).")
    public Integer upToDateNodes;
    public Long allocatedBlocks;
    public Long freeBlocks;
}
