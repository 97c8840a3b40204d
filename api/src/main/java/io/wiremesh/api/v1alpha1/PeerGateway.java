package io.wiremesh.api.v1alpha1;

import java.util.Collection;

/**
 * Which mesh node is an external peer's gateway, as the operator wrote it in the WireGuardPeer's
 * status: the node named by {@code status.gatewayNode}. A status written by an operator that predates
 * that field names the gateway only by endpoint: the node whose WireGuardNode spec.endpoints (accepted)
 * contains {@code gatewayEndpoints[0]}. Used by the node-daemon (am I the gateway, and where do the
 * others send the device's traffic) and by the CLI (whose public key goes into the config).
 */
public final class PeerGateway {
    private PeerGateway() {}

    /** Whether {@code member} (a WireGuardNode of the peer's mesh; may be null) is the gateway the status names. */
    public static boolean is(WireGuardPeerStatus status, WireGuardNode member) {
        if (status == null || member == null || member.getSpec() == null) return false;
        if (status.gatewayNode != null) return status.gatewayNode.equals(member.getSpec().nodeName);
        return status.gatewayEndpoints != null && !status.gatewayEndpoints.isEmpty()
                && member.getSpec().endpoints != null && member.getSpec().endpoints.contains(status.gatewayEndpoints.get(0));
    }

    /** The gateway among {@code members} (WireGuardNodes of the peer's mesh), or null when none is it (yet). */
    public static WireGuardNode find(WireGuardPeerStatus status, Collection<WireGuardNode> members) {
        for (WireGuardNode m : members) if (is(status, m)) return m;
        return null;
    }
}
