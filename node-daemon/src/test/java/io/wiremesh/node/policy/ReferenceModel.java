package io.wiremesh.node.policy;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.List;

/**
 * NetworkPolicy semantics written straight from the API reference (networking.k8s.io/v1 NetworkPolicySpec), one
 * connection at a time, with no nftables in sight: the oracle the truth-table test compares the kernel's verdicts
 * with (the idea of sig-network's Cyclonus). Kept deliberately naive.
 */
final class ReferenceModel {
    /** One end of a connection: a pod (with the address used), or a plain address (pod null). */
    record End(PolicySnapshot.Pod pod, String ip) {}

    private final PolicySnapshot cluster;

    ReferenceModel(PolicySnapshot cluster) {
        this.cluster = cluster;
    }

    /** Whether a new connection from {@code src} to {@code dst} on {@code protocol}/{@code port} is allowed. */
    boolean allowed(End src, End dst, String protocol, int port) {
        return egressAllowed(src, dst, protocol, port) && ingressAllowed(src, dst, protocol, port);
    }

    private boolean egressAllowed(End src, End dst, String protocol, int port) {
        if (src.pod() == null) return true;
        List<Policy> selecting = cluster.policies().stream()
                .filter(p -> p.egressType() && p.namespace().equals(src.pod().namespace()) && p.podSelector().matches(src.pod().labels()))
                .toList();
        if (selecting.isEmpty()) return true;
        for (Policy p : selecting) {
            for (Policy.Rule r : p.egress()) {
                if (r.broken()) continue;
                if (peersMatch(r, p, dst) && portsMatch(r, dst, protocol, port)) return true;
            }
        }
        return false;
    }

    private boolean ingressAllowed(End src, End dst, String protocol, int port) {
        if (dst.pod() == null) return true;
        List<Policy> selecting = cluster.policies().stream()
                .filter(p -> p.ingressType() && p.namespace().equals(dst.pod().namespace()) && p.podSelector().matches(dst.pod().labels()))
                .toList();
        if (selecting.isEmpty()) return true;
        for (Policy p : selecting) {
            for (Policy.Rule r : p.ingress()) {
                if (r.broken()) continue;
                if (peersMatch(r, p, src) && portsMatch(r, dst, protocol, port)) return true;
            }
        }
        return false;
    }

    /** Whether the other end is one of the rule's peers (none listed: everyone). */
    private boolean peersMatch(Policy.Rule r, Policy p, End other) {
        if (r.peers().isEmpty()) return true;
        for (Policy.Peer peer : r.peers()) {
            if (peer.ipBlock() != null) {
                try {
                    byte[] raw = InetAddress.getByName(other.ip()).getAddress();
                    if (peer.ipBlock().contains(new BigInteger(1, raw), raw.length == 16)) return true;
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
                continue;
            }
            if (other.pod() == null) continue;
            String ns = other.pod().namespace();
            boolean nsOk = peer.namespaceSelector() == null ? ns.equals(p.namespace())
                    : peer.namespaceSelector().matches(cluster.namespaces().getOrDefault(ns, java.util.Map.of()));
            boolean podOk = peer.podSelector() == null || peer.podSelector().matches(other.pod().labels());
            if (nsOk && podOk) return true;
        }
        return false;
    }

    /** Whether the destination port is one of the rule's (none listed: all); a named port is the destination pod's. */
    private static boolean portsMatch(Policy.Rule r, End dst, String protocol, int port) {
        if (r.ports().isEmpty()) return true;
        for (Policy.Port p : r.ports()) {
            if (!p.protocol().equals(protocol)) continue;
            if (p.name() != null) {
                if (dst.pod() != null && Integer.valueOf(port).equals(dst.pod().port(p.name(), protocol))) return true;
                continue;
            }
            if (p.port() == null) return true;
            int end = p.endPort() != null ? p.endPort() : p.port();
            if (port >= p.port() && port <= end) return true;
        }
        return false;
    }
}
