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
 * <p>Candidates are the members that have published a WireGuard endpoint and, when the peer has
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
        List<WireGuardNode> sorted = members.stream().filter(m -> m.getSpec() != null && m.getStatus() != null
                && m.getStatus().endpoints != null && !m.getStatus().endpoints.isEmpty())
                .sorted(Comparator.comparing((WireGuardNode m) -> m.getSpec().nodeName)).toList();
        for (WireGuardNode m : sorted) {
            String name = m.getSpec().nodeName;
            Node node = nodes.apply(name);
            if (selector != null && !selector.isEmpty() && (node == null || !carries(node, selector))) continue;
            String override = node == null || node.getMetadata().getAnnotations() == null ? null
                    : node.getMetadata().getAnnotations().get(ExternalEndpoint.ANNOTATION);
            if (override == null) {
                dial.add(m.getStatus().endpoints.get(0));
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
