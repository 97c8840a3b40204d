package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Written by the operator (addresses, gateways, conditions) and the gateway node (lastHandshakeTime). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardPeerStatus {
    public List<String> addresses;

    @JsonPropertyDescription("What the device dials, one entry per candidate gateway node: the Node's wiremesh.io/external-endpoint"
            + " annotation (HOST:PORT, HOST may be a DNS name) when set, else its WireGuard endpoint. The first is the gateway's.")
    public List<String> gatewayEndpoints;

    @JsonPropertyDescription("Name of the Node that is this peer's gateway (holds it as a WireGuard peer).")
    public String gatewayNode;

    public String lastHandshakeTime;
    public List<Condition> conditions = new ArrayList<>();
}
