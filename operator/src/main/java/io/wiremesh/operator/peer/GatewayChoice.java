package io.wiremesh.operator.peer;

import io.fabric8.kubernetes.api.model.Node;
import io.wiremesh.api.net.ExternalEndpoint;
import io.wiremesh.api.v1alpha1.PeerGateway;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The gateways of one WireGuardPeer, from its mesh's WireGuardNodes and their Nodes.
 *
 * <p>Candidates are the members whose WireGuard key and endpoint the operator accepted (spec) and, when the peer has
 * spec.gatewayNodes, whose Node carries all those labels. A device dials a candidate at its Node's
 * {@value ExternalEndpoint#ANNOTATION} annotation when set (a public address or port-forward in front
 * of the node), else at the node's WireGuard endpoint. A candidate whose annotation is invalid is left
 * out, and said so in {@link #problems}: a device given an address it cannot dial would fail silently.
 * The gateway stays the one the previous status named while that node is still a candidate (devices
 * already configured keep their Endpoint); otherwise it is the first candidate by node name.
 *
 * @param node      the gateway's Node name; null when there is no candidate
 * @param endpoints what the device dials, one per candidate: the gateway's first, the others by node name
 * @param problems  one sentence per left-out node: the node, the annotation, its value, what is wrong, the expected form
 */
record GatewayChoice(String node, List<String> endpoints, List<String> problems) {

    /**
     * The device's latest handshake as its gateway node reports it (WireGuardNode status.devices), or
     * {@code previous} when the gateway reports none or an earlier one (RFC 3339 times compare as instants).
     */
    static String lastHandshake(List<WireGuardNode> members, String gateway, String peer, String previous) {
        if (gateway == null) return previous;
        for (WireGuardNode m : members) {
            if (m.getSpec() == null || !gateway.equals(m.getSpec().nodeName) || m.getStatus() == null || m.getStatus().devices == null) continue;
            for (var d : m.getStatus().devices) {
                if (!peer.equals(d.name) || d.lastHandshakeTime == null) continue;
                try {
                    if (previous == null || java.time.Instant.parse(d.lastHandshakeTime).isAfter(java.time.Instant.parse(previous))) return d.lastHandshakeTime;
                } catch (java.time.format.DateTimeParseException e) {
                    return previous; // a node's status is not trusted to be well-formed
                }
            }
        }
        return previous;
    }

    /**
     * @param members     the mesh's WireGuardNodes
     * @param nodes       Node by name (null when unknown)
     * @param selector    the peer's spec.gatewayNodes; null or empty: every member
     * @param defaultPort the port of an annotation without one: the mesh's listen port
     * @param previous    the peer's current status (may be null)
     */
    static GatewayChoice of(List<WireGuardNode> members, Function<String, Node> nodes, Map<String, String> selector, int defaultPort,
                            WireGuardPeerStatus previous) {
        List<WireGuardNode> candidates = new ArrayList<>();
        List<String> dial = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        // Accepted endpoints only (spec): a node's status is its own unverified proposal.
        List<WireGuardNode> sorted = members.stream().filter(m -> m.getSpec() != null && m.getSpec().publicKey != null
                && m.getSpec().endpoints != null && !m.getSpec().endpoints.isEmpty())
                .sorted(Comparator.comparing((WireGuardNode m) -> m.getSpec().nodeName)).toList();
        for (WireGuardNode m : sorted) {
            String name = m.getSpec().nodeName;
            Node node = nodes.apply(name);
            if (selector != null && !selector.isEmpty() && (node == null || !carries(node, selector))) continue;
            String override = node == null || node.getMetadata().getAnnotations() == null ? null
                    : node.getMetadata().getAnnotations().get(ExternalEndpoint.ANNOTATION);
            if (override == null) {
                dial.add(m.getSpec().endpoints.get(0));
            } else {
                try {
                    dial.add(ExternalEndpoint.parse(override, defaultPort).toString());
                } catch (IllegalArgumentException e) {
                    problems.add("node " + name + ": annotation " + ExternalEndpoint.ANNOTATION + "=\"" + override + "\" is invalid ("
                            + e.getMessage() + "); expected " + ExternalEndpoint.FORM + "; the node is not used as a gateway until"
                            + " the annotation is fixed or removed");
                    continue;
                }
            }
            candidates.add(m);
        }
        if (candidates.isEmpty()) return new GatewayChoice(null, List.of(), problems);
        WireGuardNode kept = PeerGateway.find(previous, candidates);
        int first = kept == null ? 0 : candidates.indexOf(kept);
        List<String> endpoints = new ArrayList<>(dial);
        endpoints.addFirst(endpoints.remove(first));
        return new GatewayChoice(candidates.get(first).getSpec().nodeName, endpoints, problems);
    }

    private static boolean carries(Node node, Map<String, String> labels) {
        Map<String, String> have = node.getMetadata().getLabels();
        return have != null && have.entrySet().containsAll(labels.entrySet());
    }
}
