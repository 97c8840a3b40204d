package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.PeerGateway;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where this node sends the traffic of its mesh's external peers (WireGuardPeers): the peers whose
 * gateway it is are its own WireGuard peers; the others' addresses go to their gateway node. The
 * gateway is the node the peer's status names ({@link PeerGateway}: status.gatewayNode, or by endpoint
 * for a status from an older operator), never guessed from the address devices dial, which may be a
 * public address or port-forward in front of the node.
 *
 * @param served  device public key -> its addresses (CIDRs), for the peers this node is the gateway of
 * @param viaNode gateway node's (accepted) public key -> the addresses (CIDRs) of the devices it serves
 */
record ExternalPeerRoutes(Map<String, List<String>> served, Map<String, List<String>> viaNode) {

    /**
     * @param mesh   this node's mesh
     * @param me     this node's WireGuardNode; null when it has none (then it serves no device)
     * @param others the other nodes of the mesh with an accepted public key and endpoint
     * @param peers  every WireGuardPeer (of any mesh); those without addresses or a gateway are skipped
     */
    static ExternalPeerRoutes of(String mesh, WireGuardNode me, Collection<WireGuardNode> others, Collection<WireGuardPeer> peers) {
        Map<String, List<String>> served = new HashMap<>();
        Map<String, List<String>> viaNode = new HashMap<>();
        for (WireGuardPeer p : peers) {
            if (p.getSpec() == null || !mesh.equals(p.getSpec().mesh) || p.getStatus() == null || p.getStatus().addresses == null) continue;
            if (PeerGateway.is(p.getStatus(), me)) {
                served.put(p.getSpec().publicKey, p.getStatus().addresses);
                continue;
            }
            WireGuardNode gateway = PeerGateway.find(p.getStatus(), others);
            if (gateway != null) viaNode.computeIfAbsent(gateway.getSpec().publicKey, k -> new ArrayList<>()).addAll(p.getStatus().addresses);
        }
        return new ExternalPeerRoutes(served, viaNode);
    }
}
