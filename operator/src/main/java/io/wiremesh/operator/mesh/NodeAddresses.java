package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.wiremesh.api.net.Cidr;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import java.util.Objects;
import java.util.TreeSet;

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
     * @param others every address the mesh's other selected nodes report
     */
    static List<String> claimable(List<String> addresses, List<Cidr> pools, Set<String> others) {
        return addresses.stream().filter(a -> !others.contains(a))
                .filter(a -> pools.stream().noneMatch(p -> p.contains(Cidr.parse(a + (a.indexOf(':') >= 0 ? "/128" : "/32"))))).toList();
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
