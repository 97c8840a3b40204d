package io.wiremesh.node.policy;

import io.wiremesh.api.policy.Policy;
import io.wiremesh.api.policy.PolicySnapshot;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The NetworkPolicy rules one node enforces, computed from a {@link PolicySnapshot} and the pods wired on this node
 * (pure; rendered by {@link PolicyTable}). The shape keeps the rule count growing with policies and selectors, not
 * with pods x pods:
 * <ul>
 *   <li>each policy that selects a pod of this node gets one chain per direction; each of its rules becomes one line
 *       per port entry (and address family) that accepts when the other end is in the rule's peer set — pods the
 *       selectors match and ipBlock ranges, merged into one interval set — and the port matches;</li>
 *   <li>each isolated pod of this node gets a chain per direction that jumps to the chains of the policies selecting
 *       it and drops what none accepted; a verdict map from the pod's address dispatches to it;</li>
 *   <li>a pod of this node in a namespace with policies whose labels are not known yet is isolated with nothing allowed
 *       (fail closed, until its labels are known);</li>
 *   <li>every address of this node's pods is bound to its veth (anti-spoofing: a pod cannot borrow another's rights).</li>
 * </ul>
 * Semantics as the API reference gives them (networking.k8s.io/v1 NetworkPolicySpec): ingress is decided here for pods
 * of this node as destinations, egress for pods of this node as sources; named ports resolve on the destination pod;
 * traffic from the pod's own node is never isolated (it does not pass the forward hook).
 */
public final class PolicyPlan {
    /** A pod wired on this node (from the node's IPAM record): its veth on the host and its addresses. Namespace null: not a Kubernetes pod. */
    public record LocalPod(String namespace, String name, String veth, List<String> ips) {
        public LocalPod {
            ips = List.copyOf(ips);
        }

        String key() {
            return namespace + "/" + name;
        }
    }

    /** An nftables set: {@code type} as nft writes it; {@code interval} for prefix and range elements. */
    public record NftSet(String type, boolean interval, List<String> elements) {
        public NftSet {
            elements = List.copyOf(elements);
        }
    }

    /**
     * The node's rules.
     *
     * @param bindings     veth -> the addresses its pod may send from (anti-spoofing)
     * @param ingress      pod address -> the chain deciding connections to it ("drop": nothing allowed); absent: not isolated
     * @param egress       pod address -> the chain deciding connections from it; absent: not isolated
     * @param podChains    pod chain -> whose it is and the policy chains it consults, in order (then drop, counted)
     * @param policyChains policy chain -> its lines (nft rule text, each ending in accept), and a comment naming the policy
     * @param sets         set name -> set
     * @param problems     what could not be enforced as written, by policy ("ns/name: ...")
     */
    public record NodePolicy(Map<String, List<String>> bindings, Map<String, String> ingress, Map<String, String> egress,
                             Map<String, PodChain> podChains, Map<String, PolicyChain> policyChains, Map<String, NftSet> sets,
                             List<String> problems) {}

    /** One isolated pod's chain for one direction ("ingress", "egress"): the chains of the policies selecting it. */
    public record PodChain(String namespace, String pod, String direction, List<String> policies) {
        public PodChain {
            policies = List.copyOf(policies);
        }
    }

    /** One policy's chain for one direction. */
    public record PolicyChain(String comment, List<String> lines) {}

    /** The verdict for an isolated pod whose labels are not known yet. */
    public static final String DROP = "drop";

    private PolicyPlan() {}

    /** The rules for the pods wired on this node. */
    public static NodePolicy of(PolicySnapshot snapshot, List<LocalPod> local) {
        List<LocalPod> localPods = new ArrayList<>(local);
        localPods.sort(Comparator.comparing(LocalPod::veth));
        // This node's pods are peers with the addresses it gave them, also before their status says so.
        Map<String, LocalPod> localByKey = new HashMap<>();
        for (LocalPod p : localPods) if (p.namespace() != null) localByKey.put(p.key(), p);
        List<PolicySnapshot.Pod> pods = new ArrayList<>();
        Map<String, PolicySnapshot.Pod> podByKey = new HashMap<>();
        for (PolicySnapshot.Pod p : snapshot.pods()) {
            LocalPod l = localByKey.get(p.key());
            PolicySnapshot.Pod q = l == null ? p : new PolicySnapshot.Pod(p.namespace(), p.name(), p.labels(), l.ips(), p.ports());
            pods.add(q);
            podByKey.put(q.key(), q);
        }
        List<Policy> policies = new ArrayList<>(snapshot.policies());
        policies.sort(Comparator.comparing(Policy::key));
        Map<String, List<String>> bindings = new TreeMap<>();
        Map<String, String> ingress = new TreeMap<>(), egress = new TreeMap<>();
        Map<String, PodChain> podChains = new LinkedHashMap<>();
        Map<String, PolicyChain> policyChains = new LinkedHashMap<>();
        Map<String, NftSet> sets = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (Policy p : policies) for (String problem : p.problems()) problems.add(p.key() + ": " + problem);

        // Which policies select which of this node's pods, per direction.
        Map<Integer, List<LocalPod>> selectedIn = new TreeMap<>(), selectedOut = new TreeMap<>();
        int podIndex = 0;
        for (LocalPod l : localPods) {
            bindings.put(l.veth(), l.ips());
            if (l.namespace() == null) continue;
            int index = podIndex++;
            PolicySnapshot.Pod pod = podByKey.get(l.key());
            boolean namespaceHasPolicies = policies.stream().anyMatch(p -> p.namespace().equals(l.namespace()));
            if (pod == null) {
                if (namespaceHasPolicies) for (String ip : l.ips()) {
                    ingress.put(ip, DROP);
                    egress.put(ip, DROP);
                }
                continue;
            }
            List<String> in = new ArrayList<>(), out = new ArrayList<>();
            for (int i = 0; i < policies.size(); i++) {
                Policy p = policies.get(i);
                if (!p.namespace().equals(l.namespace()) || !p.podSelector().matches(pod.labels())) continue;
                if (p.ingressType()) {
                    in.add("pol" + i + "-in");
                    selectedIn.computeIfAbsent(i, k -> new ArrayList<>()).add(l);
                }
                if (p.egressType()) {
                    out.add("pol" + i + "-eg");
                    selectedOut.computeIfAbsent(i, k -> new ArrayList<>()).add(l);
                }
            }
            if (!in.isEmpty()) {
                podChains.put("pod" + index + "-in", new PodChain(l.namespace(), l.name(), "ingress", in));
                for (String ip : l.ips()) ingress.put(ip, "pod" + index + "-in");
            }
            if (!out.isEmpty()) {
                podChains.put("pod" + index + "-eg", new PodChain(l.namespace(), l.name(), "egress", out));
                for (String ip : l.ips()) egress.put(ip, "pod" + index + "-eg");
            }
        }
        Selection selection = new Selection(pods, snapshot.namespaces());
        for (var e : selectedIn.entrySet()) {
            Policy p = policies.get(e.getKey());
            String chain = "pol" + e.getKey() + "-in";
            policyChains.put(chain, new PolicyChain(p.key() + " ingress", lines(chain, p, p.ingress(), true, e.getValue(), podByKey, selection, sets)));
        }
        for (var e : selectedOut.entrySet()) {
            Policy p = policies.get(e.getKey());
            String chain = "pol" + e.getKey() + "-eg";
            policyChains.put(chain, new PolicyChain(p.key() + " egress", lines(chain, p, p.egress(), false, e.getValue(), podByKey, selection, sets)));
        }
        return new NodePolicy(bindings, ingress, egress, podChains, policyChains, sets, problems);
    }

    /** The pods a peer's selectors match, given the policy's namespace. */
    private record Selection(List<PolicySnapshot.Pod> pods, Map<String, Map<String, String>> namespaces) {
        List<PolicySnapshot.Pod> matching(Policy.Peer peer, String policyNamespace) {
            List<PolicySnapshot.Pod> out = new ArrayList<>();
            for (PolicySnapshot.Pod pod : pods) if (matches(peer, policyNamespace, pod)) out.add(pod);
            return out;
        }

        boolean matches(Policy.Peer peer, String policyNamespace, PolicySnapshot.Pod pod) {
            if (peer.ipBlock() != null) {
                for (String ip : pod.ips()) {
                    Address a = Address.parse(ip);
                    if (peer.ipBlock().contains(a.value(), a.v6())) return true;
                }
                return false;
            }
            if (peer.namespaceSelector() == null) {
                if (!pod.namespace().equals(policyNamespace)) return false;
            } else {
                Map<String, String> nsLabels = namespaces.get(pod.namespace());
                if (nsLabels == null || !peer.namespaceSelector().matches(nsLabels)) return false;
            }
            return peer.podSelector() == null || peer.podSelector().matches(pod.labels());
        }
    }

    /** A parsed address. */
    record Address(BigInteger value, boolean v6) {
        static Address parse(String ip) {
            try {
                byte[] raw = InetAddress.getByName(ip).getAddress();
                return new Address(new BigInteger(1, raw), raw.length == 16);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not an address: " + ip);
            }
        }
    }

    private static List<String> lines(String chain, Policy policy, List<Policy.Rule> rules, boolean ingress, List<LocalPod> selected,
                                      Map<String, PolicySnapshot.Pod> podByKey, Selection selection, Map<String, NftSet> sets) {
        List<String> lines = new ArrayList<>();
        String peerDir = ingress ? "saddr" : "daddr";
        for (int r = 0; r < rules.size(); r++) {
            Policy.Rule rule = rules.get(r);
            if (rule.broken()) continue;
            boolean anyPeer = rule.peers().isEmpty();
            // The peers' addresses, as merged intervals per family.
            Map<Boolean, Intervals> peers = Map.of(false, new Intervals(false), true, new Intervals(true));
            List<PolicySnapshot.Pod> peerPods = new ArrayList<>();
            for (Policy.Peer peer : rule.peers()) {
                if (peer.ipBlock() != null) {
                    peers.get(peer.ipBlock().cidr().v6()).addBlock(peer.ipBlock());
                } else {
                    for (PolicySnapshot.Pod pod : selection.matching(peer, policy.namespace())) {
                        peerPods.add(pod);
                        for (String ip : pod.ips()) {
                            Address a = Address.parse(ip);
                            peers.get(a.v6()).add(a.value(), a.value());
                        }
                    }
                }
            }
            String base = chain + "r" + r;
            for (boolean v6 : new boolean[] {false, true}) {
                String ip = v6 ? "ip6" : "ip", type = v6 ? "ipv6_addr" : "ipv4_addr";
                String peerSet = base + (v6 ? "-6" : "-4");
                boolean peersInFamily = !peers.get(v6).isEmpty();
                if (!anyPeer && peersInFamily) sets.put(peerSet, new NftSet(type, true, peers.get(v6).elements()));
                String peerMatch = anyPeer ? "" : ip + " " + peerDir + " @" + peerSet + " ";
                List<Policy.Port> ports = rule.ports();
                if (ports.isEmpty()) {
                    if (anyPeer) {
                        if (!v6) lines.add("accept"); // both families at once
                    } else if (peersInFamily) {
                        lines.add(peerMatch + "accept");
                    }
                    continue;
                }
                for (int k = 0; k < ports.size(); k++) {
                    Policy.Port port = ports.get(k);
                    String proto = "meta l4proto " + port.protocol().toLowerCase(java.util.Locale.ROOT) + " ";
                    if (port.name() == null) {
                        String dport = port.port() == null ? "" : "th dport " + port.port()
                                + (port.endPort() != null && port.endPort() > port.port() ? "-" + port.endPort() : "") + " ";
                        if (anyPeer) {
                            if (!v6) lines.add(proto + dport + "accept");
                        } else if (peersInFamily) {
                            lines.add(proto + peerMatch + dport + "accept");
                        }
                        continue;
                    }
                    // A named port: the number is the destination pod's. Ingress: this node's selected pods; egress:
                    // the pods the peers select (or every pod, with no peers; addresses in an ipBlock that are pods).
                    List<String> elements = new ArrayList<>();
                    List<PolicySnapshot.Pod> destinations = new ArrayList<>();
                    if (ingress) {
                        for (LocalPod l : selected) {
                            PolicySnapshot.Pod pod = podByKey.get(l.key());
                            if (pod != null) destinations.add(pod);
                        }
                    } else {
                        destinations.addAll(anyPeer ? selection.pods() : peerPods);
                        if (!anyPeer) {
                            for (Policy.Peer peer : rule.peers()) {
                                if (peer.ipBlock() != null) destinations.addAll(selection.matching(peer, policy.namespace()));
                            }
                        }
                    }
                    java.util.Set<String> seen = new java.util.TreeSet<>();
                    for (PolicySnapshot.Pod pod : destinations) {
                        Integer number = pod.port(port.name(), port.protocol());
                        if (number == null) continue;
                        for (String a : pod.ips()) if (Address.parse(a).v6() == v6 && seen.add(a + " . " + number)) elements.add(a + " . " + number);
                    }
                    if (elements.isEmpty()) continue;
                    String named = base + "p" + k + (v6 ? "-6" : "-4");
                    sets.put(named, new NftSet(type + " . inet_service", false, elements));
                    String match = ingress ? (anyPeer ? "" : peersInFamily ? peerMatch : null) : "";
                    if (match == null) continue;
                    lines.add(proto + match + ip + " daddr . th dport @" + named + " accept");
                }
            }
        }
        return lines;
    }

    /** Address intervals of one family, merged on output. */
    static final class Intervals {
        private final boolean v6;
        private final List<BigInteger[]> ranges = new ArrayList<>();

        Intervals(boolean v6) {
            this.v6 = v6;
        }

        void add(BigInteger from, BigInteger to) {
            ranges.add(new BigInteger[] {from, to});
        }

        /** The block's prefix minus its exceptions. */
        void addBlock(Policy.IpBlock block) {
            List<BigInteger[]> parts = new ArrayList<>();
            parts.add(new BigInteger[] {block.cidr().network(), block.cidr().last()});
            for (var e : block.except()) {
                if (e.v6() != v6) continue;
                List<BigInteger[]> next = new ArrayList<>();
                for (BigInteger[] p : parts) {
                    if (e.last().compareTo(p[0]) < 0 || e.network().compareTo(p[1]) > 0) {
                        next.add(p);
                        continue;
                    }
                    if (e.network().compareTo(p[0]) > 0) next.add(new BigInteger[] {p[0], e.network().subtract(BigInteger.ONE)});
                    if (e.last().compareTo(p[1]) < 0) next.add(new BigInteger[] {e.last().add(BigInteger.ONE), p[1]});
                }
                parts = next;
            }
            ranges.addAll(parts);
        }

        boolean isEmpty() {
            return ranges.isEmpty();
        }

        /** nft elements: addresses and "first-last" ranges, sorted, disjoint (nft refuses overlapping intervals). */
        List<String> elements() {
            List<BigInteger[]> sorted = new ArrayList<>(ranges);
            sorted.sort(Comparator.comparing((BigInteger[] r) -> r[0]));
            List<BigInteger[]> merged = new ArrayList<>();
            for (BigInteger[] r : sorted) {
                BigInteger[] last = merged.isEmpty() ? null : merged.getLast();
                if (last != null && r[0].compareTo(last[1].add(BigInteger.ONE)) <= 0) {
                    if (r[1].compareTo(last[1]) > 0) last[1] = r[1];
                } else {
                    merged.add(new BigInteger[] {r[0], r[1]});
                }
            }
            List<String> out = new ArrayList<>();
            for (BigInteger[] r : merged) {
                String a = format(r[0]);
                out.add(r[0].equals(r[1]) ? a : a + "-" + format(r[1]));
            }
            return out;
        }

        private String format(BigInteger value) {
            return new io.wiremesh.api.net.Cidr(value, v6 ? 128 : 32, v6).address(0);
        }
    }
}
