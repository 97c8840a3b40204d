package io.wiremesh.api.policy;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.wiremesh.api.net.Cidr;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code networking.k8s.io/v1} NetworkPolicy as enforcement needs it (the API reference's "NetworkPolicySpec").
 * The pods it selects in its namespace ({@code podSelector}) are isolated for each of its {@code policyTypes}; a
 * connection to (ingress) or from (egress) such a pod is allowed when some rule of some policy selecting it for that
 * direction allows it. A rule allows a connection when one of its peers matches the other end (no peers: any end)
 * and one of its ports matches the destination port (no ports: any).
 *
 * @param ingressType whether policyTypes holds Ingress (the API's default: always)
 * @param egressType  whether policyTypes holds Egress (the API's default: when there are egress rules)
 * @param problems    what could not be read (a rule with a problem allows nothing: more is denied, never more allowed)
 */
public record Policy(String namespace, String name, LabelSelector podSelector, boolean ingressType, boolean egressType,
                     List<Rule> ingress, List<Rule> egress, List<String> problems) {
    public Policy {
        ingress = List.copyOf(ingress);
        egress = List.copyOf(egress);
        problems = List.copyOf(problems);
    }

    /** "namespace/name". */
    public String key() {
        return namespace + "/" + name;
    }

    /**
     * One ingress or egress rule. {@code peers} empty: every source (ingress) or destination (egress); {@code ports}
     * empty: every port and protocol. {@code broken}: the API object had something this rule cannot enforce (it
     * then allows nothing).
     */
    public record Rule(List<Peer> peers, List<Port> ports, boolean broken) {
        public Rule {
            peers = List.copyOf(peers);
            ports = List.copyOf(ports);
        }
    }

    /**
     * One {@code from}/{@code to} entry: pods ({@code podSelector} and/or {@code namespaceSelector}; a podSelector
     * alone means the policy's own namespace, a namespaceSelector alone every pod of the selected namespaces), or an
     * {@code ipBlock}.
     */
    public record Peer(LabelSelector podSelector, LabelSelector namespaceSelector, IpBlock ipBlock) {}

    /** {@code cidr} minus every {@code except} prefix. */
    public record IpBlock(Cidr cidr, List<Cidr> except) {
        public IpBlock {
            except = List.copyOf(except);
        }

        /** Whether {@code address} (numeric, of family {@code v6}) is inside. */
        public boolean contains(BigInteger address, boolean v6) {
            if (cidr.v6() != v6 || !inside(cidr, address)) return false;
            for (Cidr e : except) if (e.v6() == v6 && inside(e, address)) return false;
            return true;
        }

        static boolean inside(Cidr c, BigInteger a) {
            return a.compareTo(c.network()) >= 0 && a.compareTo(c.last()) <= 0;
        }
    }

    /**
     * One port entry: {@code protocol} TCP, UDP or SCTP; {@code port} a number (with {@code endPort} a range),
     * a container port's {@code name} (resolved on the pod it names: the destination), or neither (every port).
     */
    public record Port(String protocol, Integer port, Integer endPort, String name) {
        /** Whether a numbered entry matches {@code p}/{@code number}; a named one never does here (see {@code name}). */
        public boolean matchesNumber(String p, int number) {
            if (!protocol.equals(p) || name != null) return false;
            if (port == null) return true;
            return number >= port && number <= (endPort != null ? endPort : port);
        }
    }

    /**
     * From the API's object. Never throws: what cannot be read makes the affected rule allow nothing and is named
     * in {@link #problems} (e.g. an ipBlock the node cannot parse; the API server validates most of this already).
     */
    public static Policy from(NetworkPolicy np) {
        var spec = np.getSpec();
        List<String> problems = new ArrayList<>();
        LabelSelector selector;
        try {
            selector = spec.getPodSelector() == null ? LabelSelector.ALL : LabelSelector.from(spec.getPodSelector());
        } catch (IllegalArgumentException e) {
            // A selector we cannot read selects nothing we can name: better to isolate nothing than guess. Reported.
            problems.add("podSelector: " + e.getMessage());
            selector = new LabelSelector(java.util.Map.of(), List.of(new LabelSelector.Requirement("wiremesh.io/unreadable-selector", "Exists", java.util.Set.of())));
        }
        List<Rule> ingress = new ArrayList<>(), egress = new ArrayList<>();
        if (spec.getIngress() != null) {
            for (var r : spec.getIngress()) ingress.add(rule(r.getFrom(), r.getPorts(), problems, "ingress"));
        }
        if (spec.getEgress() != null) {
            for (var r : spec.getEgress()) egress.add(rule(r.getTo(), r.getPorts(), problems, "egress"));
        }
        List<String> types = spec.getPolicyTypes();
        boolean in, out;
        if (types == null || types.isEmpty()) {
            in = true;
            out = spec.getEgress() != null && !spec.getEgress().isEmpty();
        } else {
            in = types.contains("Ingress");
            out = types.contains("Egress");
        }
        return new Policy(np.getMetadata().getNamespace(), np.getMetadata().getName(), selector, in, out, ingress, egress, problems);
    }

    private static Rule rule(List<NetworkPolicyPeer> peers, List<NetworkPolicyPort> ports, List<String> problems, String where) {
        boolean broken = false;
        List<Peer> ps = new ArrayList<>();
        if (peers != null) {
            for (NetworkPolicyPeer p : peers) {
                try {
                    IpBlock block = null;
                    if (p.getIpBlock() != null) {
                        List<Cidr> except = new ArrayList<>();
                        if (p.getIpBlock().getExcept() != null) for (String e : p.getIpBlock().getExcept()) except.add(prefix(e));
                        block = new IpBlock(prefix(p.getIpBlock().getCidr()), except);
                    }
                    ps.add(new Peer(LabelSelector.from(p.getPodSelector()), LabelSelector.from(p.getNamespaceSelector()), block));
                } catch (IllegalArgumentException e) {
                    problems.add(where + ": " + e.getMessage());
                    broken = true;
                }
            }
        }
        List<Port> pl = new ArrayList<>();
        if (ports != null) {
            for (NetworkPolicyPort p : ports) {
                String protocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
                if (!List.of("TCP", "UDP", "SCTP").contains(protocol)) {
                    problems.add(where + ": protocol " + protocol + " is not TCP, UDP or SCTP");
                    broken = true;
                    continue;
                }
                IntOrString port = p.getPort();
                Integer end = p.getEndPort();
                if (port == null) pl.add(new Port(protocol, null, null, null));
                else if (port.getIntVal() != null) pl.add(new Port(protocol, port.getIntVal(), end, null));
                else if (port.getStrVal() != null && port.getStrVal().matches("[0-9]+")) pl.add(new Port(protocol, Integer.valueOf(port.getStrVal()), end, null));
                else pl.add(new Port(protocol, null, null, port.getStrVal()));
            }
        }
        // A rule whose peers or ports were all unreadable must not widen into "any peer" / "any port".
        return new Rule(ps, pl, broken);
    }

    /**
     * A prefix as the API server accepts it (Go's net.ParseCIDR: host bits may be set, and are ignored).
     *
     * @throws IllegalArgumentException for anything that is not a literal address with a prefix length
     */
    public static Cidr prefix(String s) {
        if (s == null) throw new IllegalArgumentException("missing CIDR");
        int slash = s.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException(s + " is not a CIDR");
        String host = s.substring(0, slash);
        boolean v6 = host.indexOf(':') >= 0;
        if (host.isEmpty() || (!v6 && !host.matches("[0-9.]+")) || (v6 && !host.matches("[0-9a-fA-F:.]+"))) {
            throw new IllegalArgumentException(s + " is not a CIDR");
        }
        byte[] raw;
        int bits;
        try {
            raw = InetAddress.getByName(host).getAddress();
            bits = Integer.parseInt(s.substring(slash + 1));
        } catch (java.io.IOException | NumberFormatException e) {
            throw new IllegalArgumentException(s + " is not a CIDR");
        }
        if (v6 != (raw.length == 16)) throw new IllegalArgumentException(s + " is not a CIDR");
        int total = raw.length * 8;
        if (bits < 0 || bits > total) throw new IllegalArgumentException(s + ": prefix length out of range");
        BigInteger a = new BigInteger(1, raw);
        return new Cidr(a.shiftRight(total - bits).shiftLeft(total - bits), bits, v6);
    }
}
