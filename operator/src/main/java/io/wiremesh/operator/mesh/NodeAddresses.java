package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The addresses of a Node that other nodes' pods reach through the tunnel: its InternalIP and
 * ExternalIP entries (Kubernetes API, NodeStatus.addresses), literal IPv4/IPv6 only, sorted, at most
 * 16 (the WireGuardNode schema's limit). Taken from the Node object (written by the kubelet), not
 * from the node-daemon, so one node cannot claim another's address.
 */
final class NodeAddresses {
    static final int MAX = 16;

    private NodeAddresses() {}

    static List<String> of(Node node) {
        TreeSet<String> out = new TreeSet<>();
        if (node.getStatus() == null || node.getStatus().getAddresses() == null) return List.of();
        for (NodeAddress a : node.getStatus().getAddresses()) {
            if (!"InternalIP".equals(a.getType()) && !"ExternalIP".equals(a.getType())) continue;
            String ip = a.getAddress();
            if (ip != null && isLiteralIp(ip)) out.add(ip);
        }
        return out.stream().limit(MAX).toList();
    }

    /** Whether two nodes' address lists differ in what {@link #of} keeps. */
    static boolean changed(Node before, Node after) {
        return !Objects.equals(of(before), of(after));
    }

    static boolean isLiteralIp(String s) {
        return s.matches(io.wiremesh.api.v1alpha1.Formats.IP) && (s.indexOf(':') < 0 || s.matches("[0-9a-fA-F:]+"));
    }
}
