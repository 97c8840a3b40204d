package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.psk.PresharedKeyExchange;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What this node should hold, computed from one snapshot of the mesh as the node-daemon sees it: the
 * datapath to drive {@code wiremesh0} with, its listen port, MTU and addresses, the fail-closed pools,
 * the WireGuard key generation asked for, the preshared-key exchange's settings and peers, the egress
 * plan and the peers ({@link #peers}). {@link NodeReconciler} applies it step by step. Pure: no
 * device, no kernel, no cluster.
 *
 * @param generation        metadata.generation of the WireGuardMesh this plan answers (what status.observedMeshGeneration
 *                          becomes once every step has applied it)
 * @param datapath          spec.datapath (unset: auto)
 * @param listenPort        spec.listenPort (unset: 51820)
 * @param mtu               spec.mtu, or the underlay's MTU less the WireGuard overhead; 0 when neither is known
 * @param failClosedPools   every pod and peer pool of the mesh and every member's blocks (a block still in use stays
 *                          covered even if an edit of the pools, which the operator refuses, reaches the node)
 * @param ownBlocks         this node's pod blocks (spec.podCIDRs of its WireGuardNode; empty once membership ended)
 * @param overlayAddresses  this node's overlay addresses on the interface (empty once membership ended)
 * @param preferredSources  the node address its own traffic into the mesh leaves with: {@code endpointHost} when the operator
 *                          accepted it into spec.nodeAddresses (peers allow it from this tunnel), else none
 * @param keyGeneration     the WireGuard key generation asked for (spec.keyGeneration of this node's member; 0: none asked)
 * @param presharedKeys     spec.presharedKeys enabled
 * @param presharedKeyInterval how often a pair's preshared key is replaced
 * @param exchangePeers     the other members with an accepted key, as the preshared-key exchange needs them
 * @param egress            the masquerade table and policy routes, or null once membership ended
 * @param membershipEnded   this node's WireGuardNode is gone from a complete view: its blocks are no longer its own
 * @param complete          the view of members and external devices is complete (only then is a stranger peer removed)
 * @param memberUid         metadata.uid of this node's WireGuardNode (null: none, or none listed): another one than at start
 *                          is another membership (the mesh was re-created), which may hold other blocks
 */
public record NodePlan(long generation, WireGuardMeshSpec.Datapath datapath, int listenPort, int mtu, List<Cidr> failClosedPools,
                       List<String> ownBlocks, List<String> overlayAddresses, List<String> preferredSources, long keyGeneration, boolean presharedKeys,
                       Duration presharedKeyInterval, List<PresharedKeyExchange.Peer> exchangePeers, EgressPlan egress,
                       boolean membershipEnded, boolean complete, String memberUid, Inputs inputs) {

    /**
     * One snapshot of what the node-daemon observes.
     *
     * @param meshName      the WireGuardMesh's name
     * @param node          this node's name
     * @param mesh          the WireGuardMesh as last seen (with spec and metadata.generation)
     * @param members       the mesh's WireGuardNodes, this node's included
     * @param complete      whether both lists (members, external peers) are complete
     * @param externalPeers every WireGuardPeer (of any mesh)
     * @param endpointHost  the node address other nodes reach this one at
     * @param underlayMtu   the MTU of the interface holding {@code endpointHost} (read only when spec.mtu is unset; 0: unknown)
     */
    public record Inputs(String meshName, String node, WireGuardMesh mesh, List<WireGuardNode> members, boolean complete,
                         List<WireGuardPeer> externalPeers, String endpointHost, int underlayMtu) {}

    /**
     * Whether this plan shows another WireGuardNode than {@code uid} (the one this membership started with) as this
     * node's: deleted and re-created between two snapshots (the mesh re-applied), another membership that may hold
     * other blocks. False when either is unknown.
     */
    public boolean recreatedSince(String uid) {
        return memberUid != null && uid != null && !memberUid.equals(uid);
    }

    /** WireGuard over IPv6 adds 80 bytes (40 IPv6 + 8 UDP + 32 WireGuard); the default MTU leaves room for it. */
    static final int WIREGUARD_OVERHEAD = 80;

    /**
     * The plan for {@code in}.
     *
     * @throws IllegalArgumentException when a pool cannot be parsed (the operator refuses such a mesh)
     */
    public static NodePlan of(Inputs in) {
        WireGuardMeshSpec spec = in.mesh().getSpec();
        Long generation = in.mesh().getMetadata().getGeneration();
        WireGuardNode self = null;
        for (WireGuardNode w : in.members()) if (w.getSpec() != null && in.node().equals(w.getSpec().nodeName)) self = w;
        boolean ended = self == null && in.complete();
        // Unknown (0) only while the underlay's cannot be read: the MTU step reports it, the other steps go on.
        int mtu = spec.mtu != null ? spec.mtu : in.underlayMtu() > WIREGUARD_OVERHEAD ? in.underlayMtu() - WIREGUARD_OVERHEAD : 0;
        List<String> overlay = self == null || self.getSpec().overlayAddresses == null ? List.of() : List.copyOf(self.getSpec().overlayAddresses);
        List<String> accepted = self == null || self.getSpec().nodeAddresses == null ? List.of() : self.getSpec().nodeAddresses;
        List<String> sources = accepted.contains(in.endpointHost()) ? List.of(in.endpointHost()) : List.of();
        long keyGeneration = self == null || self.getSpec().keyGeneration == null ? 0 : self.getSpec().keyGeneration;
        EgressPlan egress = self == null ? null : EgressPlan.of(spec, self, in.members());
        return new NodePlan(generation == null ? 0 : generation, spec.datapathOrDefault(), spec.listenPortOrDefault(), mtu,
                failClosedPools(spec, in.members()), self == null ? List.of() : List.copyOf(self.getSpec().podCIDRs), overlay, sources, keyGeneration, spec.presharedKeysEnabled(), spec.presharedKeyInterval(),
                exchangePeers(in.node(), spec, in.members()), egress, ended, in.complete(),
                self == null ? null : self.getMetadata().getUid(), in);
    }

    /**
     * The interface's peers and the blocks routed through it ({@link PeerPlan}).
     *
     * @param presharedKey     an external device's preshared key (base64) from its Secret, or null; may throw when the Secret is missing
     * @param nodePresharedKey the preshared key (base64) with another node (its name, its public key), or null for none yet
     */
    public PeerPlan peers(Function<WireGuardPeerSpec, String> presharedKey, BiFunction<String, String, String> nodePresharedKey) {
        return PeerPlan.of(inputs.meshName(), inputs.node(), inputs.mesh().getSpec(), inputs.members(), complete, inputs.externalPeers(),
                presharedKey, nodePresharedKey);
    }

    /** The mesh's pod and peer pools. */
    static List<Cidr> pools(WireGuardMeshSpec spec) {
        List<Cidr> pools = new ArrayList<>(spec.podCIDRs.stream().map(Cidr::parse).toList());
        if (spec.peerCIDRs != null) spec.peerCIDRs.forEach(c -> pools.add(Cidr.parse(c)));
        return pools;
    }

    /** The mesh's pools and every member's block outside them. @throws IllegalArgumentException when one cannot be parsed */
    static List<Cidr> failClosedPools(WireGuardMeshSpec spec, List<WireGuardNode> members) {
        List<Cidr> pools = pools(spec);
        for (WireGuardNode w : members) {
            if (w.getSpec() == null || w.getSpec().podCIDRs == null) continue;
            for (String b : w.getSpec().podCIDRs) {
                Cidr block = Cidr.parse(b);
                if (pools.stream().noneMatch(p -> p.v6() == block.v6() && p.contains(block))) pools.add(block);
            }
        }
        return List.copyOf(pools);
    }

    /** The other members with an accepted WireGuard key: keys and port from the spec (what the operator accepted), never from their status. */
    private static List<PresharedKeyExchange.Peer> exchangePeers(String node, WireGuardMeshSpec spec, List<WireGuardNode> members) {
        List<PresharedKeyExchange.Peer> out = new ArrayList<>();
        for (WireGuardNode w : members) {
            if (w.getSpec() == null || w.getSpec().publicKey == null || node.equals(w.getSpec().nodeName)) continue;
            out.add(new PresharedKeyExchange.Peer(w.getSpec().nodeName, w.getSpec().publicKey, w.getSpec().kemPublicKey,
                    w.getSpec().overlayAddresses, endpointPort(w.getSpec().endpoints, spec.listenPortOrDefault())));
        }
        return out;
    }

    /** The port of the first endpoint ({@code ip:port} or {@code [ip6]:port}); {@code fallback} when there is none. */
    static int endpointPort(List<String> endpoints, int fallback) {
        if (endpoints == null || endpoints.isEmpty()) return fallback;
        String e = endpoints.getFirst();
        try {
            return Integer.parseInt(e.substring(e.lastIndexOf(':') + 1));
        } catch (NumberFormatException x) {
            return fallback;
        }
    }
}
