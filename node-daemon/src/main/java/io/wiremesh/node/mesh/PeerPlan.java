package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.node.wg.WireGuardDevice.PeerConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What this node's WireGuard interface and routes should hold, from the mesh as the node-daemon sees
 * it: one peer per other member whose key and endpoint the operator accepted into its spec (AllowedIPs: its pod blocks,
 * overlay and node addresses, plus the addresses of the external devices it is the gateway for), one
 * peer per external device this node is the gateway of (no endpoint: devices roam in), and a route
 * through the interface for every other member's blocks and the external peer pools. When this node's
 * own WireGuardNode is gone (membership ended) and the view is complete, nothing: its blocks are no
 * longer its own. Pure: no device, no cluster (the preshared key lookup is passed in).
 *
 * @param peers         public key -> the peer's desired configuration
 * @param routedBlocks  CIDRs routed through the interface
 * @param nodeByKey     public key -> node name, for the node peers (metrics, status)
 * @param externalNames public key -> WireGuardPeer name, for the devices this node serves
 */
public record PeerPlan(Map<String, PeerConfig> peers, Set<Cidr> routedBlocks, Map<String, String> nodeByKey,
                       Map<String, String> externalNames) {

    /**
     * @param mesh         this node's mesh
     * @param node         this node's name
     * @param spec         the mesh spec (keepalive, peer pools)
     * @param members      the mesh's WireGuardNodes, this node's included
     * @param membersSynced whether {@code members} is the complete list (the watch has synced)
     * @param externalPeers every WireGuardPeer (of any mesh)
     * @param presharedKey the preshared key (base64) of an external device's spec, or null; may throw when its Secret is missing
     * @param nodePresharedKey the preshared key (base64) with another node (its name, its public key) from the
     *                     post-quantum exchange, or null for none yet
     */
    public static PeerPlan of(String mesh, String node, WireGuardMeshSpec spec, Collection<WireGuardNode> members, boolean membersSynced,
                              Collection<WireGuardPeer> externalPeers, Function<WireGuardPeerSpec, String> presharedKey,
                              BiFunction<String, String, String> nodePresharedKey) {
        WireGuardNode me = null;
        Map<String, WireGuardNode> others = new LinkedHashMap<>();
        for (WireGuardNode w : members) {
            if (w.getSpec() == null) continue;
            if (node.equals(w.getSpec().nodeName)) {
                me = w;
                continue;
            }
            // The key and endpoints the operator accepted (spec), never the node's own proposal (status).
            WireGuardNodeSpec s = w.getSpec();
            if (s.publicKey == null || s.endpoints == null || s.endpoints.isEmpty()) continue;
            others.put(s.publicKey, w);
        }
        if (me == null && membersSynced) return new PeerPlan(Map.of(), Set.of(), Map.of(), Map.of());

        ExternalPeerRoutes external = ExternalPeerRoutes.of(mesh, me, others.values(), externalPeers);
        int keepalive = spec.persistentKeepaliveOrDefault();
        Map<String, PeerConfig> peers = new LinkedHashMap<>();
        Map<String, String> nodeByKey = new HashMap<>();
        Set<Cidr> blocks = new TreeSet<>();
        for (var e : others.entrySet()) {
            WireGuardNode w = e.getValue();
            List<String> ips = allowedIps(w);
            ips.addAll(external.viaNode().getOrDefault(e.getKey(), List.of()));
            peers.put(e.getKey(), new PeerConfig(e.getKey(), w.getSpec().endpoints.get(0), ips, keepalive,
                    nodePresharedKey.apply(w.getSpec().nodeName, e.getKey())));
            nodeByKey.put(e.getKey(), w.getSpec().nodeName);
            for (String b : w.getSpec().podCIDRs) blocks.add(Cidr.parse(b));
        }
        Map<String, String> externalNames = new HashMap<>();
        for (WireGuardPeer p : externalPeers) {
            if (p.getSpec() == null || !external.served().containsKey(p.getSpec().publicKey)) continue;
            String key = p.getSpec().publicKey;
            externalNames.put(key, p.getMetadata().getName());
            peers.put(key, new PeerConfig(key, null, external.served().get(key), 0, presharedKey.apply(p.getSpec())));
        }
        if (spec.peerCIDRs != null) for (String c : spec.peerCIDRs) blocks.add(Cidr.parse(c));
        return new PeerPlan(peers, blocks, nodeByKey, externalNames);
    }

    /**
     * A peer may send from its pod blocks, its overlay addresses and its node addresses (replies of its
     * hostNetwork servers to our pods, which reach them through the tunnel).
     */
    static List<String> allowedIps(WireGuardNode w) {
        List<String> ips = new ArrayList<>(w.getSpec().podCIDRs);
        if (w.getSpec().overlayAddresses != null) {
            for (String a : w.getSpec().overlayAddresses) ips.add(a + (a.indexOf(':') >= 0 ? "/128" : "/32"));
        }
        if (w.getSpec().nodeAddresses != null) {
            for (String a : w.getSpec().nodeAddresses) ips.add(a + (a.indexOf(':') >= 0 ? "/128" : "/32"));
        }
        return ips;
    }
}
