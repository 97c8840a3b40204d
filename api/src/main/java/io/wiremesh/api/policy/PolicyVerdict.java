package io.wiremesh.api.policy;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Whether NetworkPolicy allows one new connection, and why: the API reference's semantics (networking.k8s.io/v1
 * NetworkPolicySpec) written straight out, one connection at a time, deliberately naive. It answers
 * {@code wiremesh policy explain}, and it is the oracle the node's nftables rules are tested against (the truth-table
 * test probes real kernels and compares every verdict with this one), so what it explains is what nodes enforce.
 * <p>
 * A connection is allowed when the source's egress side and the destination's ingress side both allow it. A side
 * allows when no policy in the pod's namespace selects the pod for that direction (not isolated), or when some rule
 * of some selecting policy matches: one of its peers is the other end (no peers: anyone) and one of its ports is the
 * destination port (no ports: any; a named port is the destination pod's container port of that name and protocol).
 */
public final class PolicyVerdict {
    /** One end of a connection: a pod (with the address it uses), or a plain address ({@code pod} null). */
    public record End(PolicySnapshot.Pod pod, String ip) {
        String name() {
            return pod != null ? pod.key() : ip;
        }
    }

    /**
     * One side's answer.
     *
     * @param allowed  whether this side allows the connection
     * @param isolated whether some policy selects the pod for this direction
     * @param deciding the policies that allowed it ("ns/name", with the rule's index), or that isolate the pod and did not
     * @param reason   one sentence
     */
    public record Decision(boolean allowed, boolean isolated, List<String> deciding, String reason) {}

    /** Both sides: the connection is allowed when both are. */
    public record Explanation(Decision egress, Decision ingress) {
        public boolean allowed() {
            return egress.allowed() && ingress.allowed();
        }
    }

    private PolicyVerdict() {}

    /**
     * Explains a new connection from {@code src} to {@code dst}.
     *
     * @param protocol TCP, UDP or SCTP; null with {@code port} null for traffic without ports (e.g. ICMP)
     * @param port     the destination port, or null
     */
    public static Explanation explain(PolicySnapshot cluster, End src, End dst, String protocol, Integer port) {
        return new Explanation(side(cluster, src, dst, protocol, port, false), side(cluster, src, dst, protocol, port, true));
    }

    /** Just the answer of {@link #explain}. */
    public static boolean allowed(PolicySnapshot cluster, End src, End dst, String protocol, Integer port) {
        return explain(cluster, src, dst, protocol, port).allowed();
    }

    private static Decision side(PolicySnapshot cluster, End src, End dst, String protocol, Integer port, boolean ingress) {
        End self = ingress ? dst : src, other = ingress ? src : dst;
        String direction = ingress ? "ingress" : "egress";
        if (self.pod() == null) return new Decision(true, false, List.of(), self.ip() + " is not a pod: no " + direction + " policy applies");
        List<Policy> selecting = cluster.policies().stream()
                .filter(p -> (ingress ? p.ingressType() : p.egressType()) && p.namespace().equals(self.pod().namespace())
                        && p.podSelector().matches(self.pod().labels()))
                .toList();
        if (selecting.isEmpty()) {
            return new Decision(true, false, List.of(), "no policy selects " + self.name() + " for " + direction + ": it is not isolated");
        }
        List<String> allowedBy = new ArrayList<>();
        for (Policy p : selecting) {
            List<Policy.Rule> rules = ingress ? p.ingress() : p.egress();
            for (int r = 0; r < rules.size(); r++) {
                Policy.Rule rule = rules.get(r);
                if (!rule.broken() && peersMatch(cluster, rule, p, other) && portsMatch(rule, dst, protocol, port)) {
                    allowedBy.add(p.key() + " " + direction + " rule " + r);
                }
            }
        }
        List<String> keys = selecting.stream().map(Policy::key).toList();
        if (!allowedBy.isEmpty()) return new Decision(true, true, allowedBy, "allowed by " + String.join(", ", allowedBy));
        return new Decision(false, true, keys, self.name() + " is isolated for " + direction + " by " + String.join(", ", keys)
                + " and no rule of theirs matches " + other.name() + (port != null ? " on " + protocol + "/" + port : ""));
    }

    /** Whether the other end is one of the rule's peers (none listed: everyone). */
    private static boolean peersMatch(PolicySnapshot cluster, Policy.Rule r, Policy p, End other) {
        if (r.peers().isEmpty()) return true;
        for (Policy.Peer peer : r.peers()) {
            if (peer.ipBlock() != null) {
                try {
                    byte[] raw = InetAddress.getByName(other.ip()).getAddress();
                    if (peer.ipBlock().contains(new BigInteger(1, raw), raw.length == 16)) return true;
                } catch (java.io.IOException e) {
                    throw new IllegalArgumentException("not an address: " + other.ip());
                }
                continue;
            }
            if (other.pod() == null) continue;
            String ns = other.pod().namespace();
            boolean nsOk = peer.namespaceSelector() == null ? ns.equals(p.namespace())
                    : peer.namespaceSelector().matches(cluster.namespaces().getOrDefault(ns, Map.of()));
            boolean podOk = peer.podSelector() == null || peer.podSelector().matches(other.pod().labels());
            if (nsOk && podOk) return true;
        }
        return false;
    }

    /** Whether the destination port is one of the rule's (none listed: all); a named port is the destination pod's. */
    private static boolean portsMatch(Policy.Rule r, End dst, String protocol, Integer port) {
        if (r.ports().isEmpty()) return true;
        for (Policy.Port p : r.ports()) {
            if (!p.protocol().equals(protocol)) continue;
            if (port == null) {
                if (p.port() == null && p.name() == null) return true; // the protocol, any port
                continue;
            }
            if (p.name() != null) {
                if (dst.pod() != null && port.equals(dst.pod().port(p.name(), protocol))) return true;
                continue;
            }
            if (p.port() == null) return true;
            int end = p.endPort() != null && p.endPort() > p.port() ? p.endPort() : p.port();
            if (port >= p.port() && port <= end) return true;
        }
        return false;
    }
}
