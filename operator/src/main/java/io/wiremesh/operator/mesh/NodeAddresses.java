package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.wiremesh.api.net.Cidr;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The addresses of a Node that other nodes' pods reach through the tunnel: its InternalIP entries
 * (Kubernetes API, NodeStatus.addresses), literal IPv4/IPv6 unicast only, sorted, at most 16 (the
 * WireGuardNode schema's limit). Not ExternalIP: on clouds that is often a 1:1 NAT address the node
 * does not hold, so tunnelled traffic to it would leave the far node un-masqueraded. Copied by the
 * operator, never published by the node-daemon; {@link #claimable} then leaves out what no node may
 * claim (pod and peer pools, an address two nodes report).
 */
final class NodeAddresses {
    static final int MAX = 16;

    private NodeAddresses() {}

    static List<String> of(Node node) {
        TreeSet<String> out = new TreeSet<>();
        if (node.getStatus() == null || node.getStatus().getAddresses() == null) return List.of();
        for (NodeAddress a : node.getStatus().getAddresses()) {
            if (!"InternalIP".equals(a.getType())) continue;
            String ip = a.getAddress();
            if (ip != null && isLiteralIp(ip) && isUnicast(ip)) out.add(ip);
        }
        return out.stream().limit(MAX).toList();
    }

    /** Whether two nodes' address lists differ in what {@link #of} keeps. */
    static boolean changed(Node before, Node after) {
        return !Objects.equals(of(before), of(after));
    }

    /**
     * {@code addresses} without those inside a pod or peer pool and those another node also reports
     * (both lose them: traffic for such an address could go to either, so it goes through neither).
     *
     * @param others the addresses more than one of the mesh's selected nodes reports ({@link #contested})
     */
    static List<String> claimable(List<String> addresses, List<Cidr> pools, Set<String> others) {
        return addresses.stream().filter(a -> !others.contains(a))
                .filter(a -> pools.stream().noneMatch(p -> p.contains(Cidr.parse(a + (a.indexOf(':') >= 0 ? "/128" : "/32"))))).toList();
    }

    /** The addresses (as {@link #of} keeps them) that more than one of {@code nodes} reports. */
    static Set<String> contested(Collection<Node> nodes) {
        Map<String, Integer> claims = new HashMap<>();
        nodes.forEach(n -> of(n).forEach(a -> claims.merge(a, 1, Integer::sum)));
        return claims.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(Collectors.toSet());
    }

    /**
     * Why some addresses a node reports are not its to claim (what {@link #claimable} left out of {@code reported}),
     * for a Warning Event; empty when none was left out.
     */
    static Optional<String> rejection(String node, List<String> reported, List<String> claimable) {
        if (claimable.size() >= reported.size()) return Optional.empty();
        List<String> left = new ArrayList<>(reported);
        left.removeAll(claimable);
        return Optional.of("node " + node + ": " + left + " not reachable through the tunnel"
                + " (reported by another node too, or inside the mesh's pod or peer CIDRs): give each node its own InternalIP");
    }

    static boolean isLiteralIp(String s) {
        return s.matches(io.wiremesh.api.v1alpha1.Formats.IP) && (s.indexOf(':') < 0 || s.matches("[0-9a-fA-F:]+"));
    }

    /** Not loopback, link-local, multicast or unspecified: an address another host can send to. */
    static boolean isUnicast(String s) {
        try {
            InetAddress a = InetAddress.getByName(s);
            return !a.isAnyLocalAddress() && !a.isLoopbackAddress() && !a.isLinkLocalAddress() && !a.isMulticastAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
