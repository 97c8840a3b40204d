package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * Written by the operator only: addresses, gateways, conditions, and lastHandshakeTime as the gateway
 * node reports it in its own WireGuardNode's status.devices (node-daemons cannot write WireGuardPeers:
 * addresses and gateway decide where every node sends a device's traffic).
 */
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
