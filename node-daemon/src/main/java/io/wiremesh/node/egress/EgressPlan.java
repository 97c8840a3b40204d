package io.wiremesh.node.egress;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * What one node does with traffic from pod (and external peer) addresses that is not for another pod:
 * which sources are masqueraded, which destinations keep the pod's source address, which sources are
 * steered by policy routing towards other nodes' own addresses, and which addresses those are.
 * A pure function of the mesh spec and the WireGuardNodes of the mesh; no I/O.
 *
 * @param masquerade     {@code spec.egress.masquerade} (default true)
 * @param sources        the mesh's pod and peer pools: the only sources ever masqueraded
 * @param inMesh         destinations that keep the source address: pod and peer pools, the addresses of
 *                       this node and of every peer node, and {@code spec.egress.excludeCIDRs}; minimal
 *                       (no entry inside another)
 * @param ruleSources    sources of the policy rules that send traffic for node addresses into the tunnel:
 *                       the mesh's pod and peer pools (not only this node's blocks: a pod of another node
 *                       that reached a NodePort here, DNATed to a third node's host-network endpoint, is
 *                       forwarded through the tunnel too, masqueraded to this node's tunnel address)
 * @param remoteNodes    the addresses (/32, /128) of the other nodes that are peers (they published a key
 *                       and an endpoint): only those can be reached through the tunnel; a node not yet a
 *                       peer is reached like any host outside the mesh (masqueraded) rather than dropped
 * @param rejected       entries of the spec or of WireGuardNodes that could not be parsed and were left
 *                       out (each one alone, so one bad entry never disables egress), as "what: value"
 */
public record EgressPlan(boolean masquerade, List<Cidr> sources, List<Cidr> inMesh, List<Cidr> ruleSources, List<Cidr> remoteNodes,
                         List<String> rejected) {

    /**
     * The plan for node {@code self} of a mesh with {@code spec}, given every WireGuardNode of the mesh
     * ({@code members} may include {@code self}; members without a spec are ignored).
     *
     * @throws IllegalArgumentException when the mesh's own pools cannot be parsed (the operator refuses such a mesh)
     */
    public static EgressPlan of(WireGuardMeshSpec spec, WireGuardNode self, Collection<WireGuardNode> members) {
        List<Cidr> pools = new ArrayList<>();
        spec.podCIDRs.forEach(c -> pools.add(Cidr.parse(c)));
        List<Cidr> peerPools = new ArrayList<>();
        if (spec.peerCIDRs != null) spec.peerCIDRs.forEach(c -> peerPools.add(Cidr.parse(c)));
        List<String> rejected = new ArrayList<>();

        List<Cidr> sources = new ArrayList<>(pools);
        sources.addAll(peerPools);

        List<Cidr> inMesh = new ArrayList<>(sources);
        List<Cidr> remote = new ArrayList<>();
        String selfName = self.getSpec().nodeName;
        for (WireGuardNode w : members) {
            if (w.getSpec() == null || w.getSpec().nodeAddresses == null || selfName.equals(w.getSpec().nodeName)) continue;
            if (!isPeer(w)) continue;
            for (String a : w.getSpec().nodeAddresses) {
                Cidr host = host(a, "node " + w.getSpec().nodeName + " address", rejected);
                if (host == null) continue;
                inMesh.add(host);
                remote.add(host);
            }
        }
        if (self.getSpec().nodeAddresses != null) {
            for (String a : self.getSpec().nodeAddresses) {
                Cidr host = host(a, "this node's address", rejected);
                if (host != null) inMesh.add(host);
            }
        }
        for (String c : spec.egressExcludeCIDRs()) {
            try {
                inMesh.add(Cidr.parse(c));
            } catch (IllegalArgumentException e) {
                rejected.add("spec.egress.excludeCIDRs: " + e.getMessage());
            }
        }

        return new EgressPlan(spec.masquerade(), minimal(sources), minimal(inMesh), minimal(sources), minimal(remote), List.copyOf(rejected));
    }

    /** A member this node has as a WireGuard peer: the operator accepted its key and an endpoint. */
    static boolean isPeer(WireGuardNode w) {
        return w.getSpec() != null && w.getSpec().publicKey != null && w.getSpec().endpoints != null && !w.getSpec().endpoints.isEmpty();
    }

    private static Cidr host(String address, String what, List<String> rejected) {
        try {
            return host(address);
        } catch (IllegalArgumentException e) {
            rejected.add(what + ": " + e.getMessage());
            return null;
        }
    }

    /** {@code address} as a one-address prefix (/32 or /128). */
    static Cidr host(String address) {
        return Cidr.parse(address + (address.indexOf(':') >= 0 ? "/128" : "/32"));
    }

    /**
     * Sorted, without duplicates and without prefixes contained in another of the list. O(n log n): sorted by family,
     * network, then prefix length, a container comes before what it contains and the entries kept are disjoint, so
     * only the last one kept can contain the next (comparing with every kept entry made a 1,000-node mesh's plan take
     * 130-170 ms per event).
     */
    static List<Cidr> minimal(Collection<Cidr> cidrs) {
        List<Cidr> out = new ArrayList<>();
        for (Cidr c : new TreeSet<>(cidrs)) {
            if (out.isEmpty() || !out.getLast().contains(c)) out.add(c);
        }
        return List.copyOf(out);
    }

    /** The entries of one family. */
    public static List<Cidr> family(List<Cidr> cidrs, boolean v6) {
        return cidrs.stream().filter(c -> c.v6() == v6).toList();
    }
}
