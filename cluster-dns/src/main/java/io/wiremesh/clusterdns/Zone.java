package io.wiremesh.clusterdns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The cluster zone of one {@link ClusterState}: answers a question (name, type) the way the Kubernetes
 * DNS-Based Service Discovery specification 1.1.0 and CoreDNS's {@code kubernetes} plugin do. Immutable and
 * pure; a new state makes a new zone. Records of the zone {@code <zone>} (e.g. {@code cluster.local.}):
 * <ul>
 *   <li>{@code dns-version.<zone>} TXT {@code "1.1.0"}; the apex's SOA and NS ({@code ns.dns.<zone>}, whose
 *       A/AAAA records are the cluster IPs of {@code kube-system/kube-dns} when that Service exists);</li>
 *   <li>ClusterIP Services: {@code <svc>.<ns>.svc.<zone>} A/AAAA of the cluster IP(s); per named port
 *       {@code _<port>._<proto>.<svc>.<ns>.svc.<zone>} SRV 0 100 {@code <port>} {@code <svc>.<ns>.svc.<zone>};
 *       a PTR of each cluster IP to {@code <svc>.<ns>.svc.<zone>};</li>
 *   <li>headless Services: {@code <svc>.<ns>.svc.<zone>} A/AAAA of every ready endpoint;
 *       {@code <host>.<svc>.<ns>.svc.<zone>} A/AAAA of each endpoint, where {@code <host>} is its hostname or
 *       else its address with dashes ({@link DashedIp}); per named port one SRV per endpoint pointing at that
 *       name, with the endpoint's port, priority 0 and the weight 100 shared among them; a PTR of each endpoint
 *       address to that name;</li>
 *   <li>ExternalName Services: {@code <svc>.<ns>.svc.<zone>} CNAME {@code spec.externalName};</li>
 *   <li>pods ("pods insecure"): {@code <a-b-c-d>.<ns>.pod.<zone>} A a.b.c.d in any namespace, and the IPv6 dashed
 *       form, AAAA, without looking at the pods.</li>
 * </ul>
 * A name under the zone that does not exist gets NXDOMAIN; a name that exists (also as an ancestor of a record's
 * name, e.g. {@code <ns>.svc.<zone>} of a namespace with Services, or a Service without ready endpoints) but has
 * no record of the type gets NOERROR without answer (NODATA); both carry the zone's SOA in the authority section
 * (RFC 2308). A name that owns a CNAME answers the CNAME for any other type. Every record has the TTL given
 * (5 s by default, CoreDNS's). Names compare case-insensitively; answers are owned by the name as asked.
 * Reverse names ({@code in-addr.arpa.}, {@code ip6.arpa.}) are answered only for the addresses above;
 * every other name is not this zone's ({@link Answer#NOT_OURS}), to be forwarded.
 */
public final class Zone {
    /** The version of the Kubernetes DNS specification served at {@code dns-version.<zone>}. */
    public static final String SCHEMA_VERSION = "1.1.0";
    /** TTL of every record, in seconds: CoreDNS's default. */
    public static final long DEFAULT_TTL = 5;
    private static final Name IN_ADDR_ARPA = Name.fromConstantString("in-addr.arpa.");
    private static final Name IP6_ARPA = Name.fromConstantString("ip6.arpa.");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?");

    /**
     * What the zone says about a question.
     *
     * @param authoritative true when the name is this zone's (the answer is final); false when it is to be forwarded
     * @param rcode {@link Rcode#NOERROR} or {@link Rcode#NXDOMAIN} (only meaningful when authoritative)
     * @param answer the answer section: records owned by the name as asked; a CNAME alone when the name is an alias
     * @param authority the zone's SOA for negative answers (NXDOMAIN, NODATA), else empty
     * @param additional the A/AAAA records of SRV targets
     */
    public record Answer(boolean authoritative, int rcode, List<Record> answer, List<Record> authority, List<Record> additional) {
        public Answer {
            answer = List.copyOf(answer);
            authority = List.copyOf(authority);
            additional = List.copyOf(additional);
        }

        /** Not this zone's: forward the question. */
        public static final Answer NOT_OURS = new Answer(false, Rcode.NOERROR, List.of(), List.of(), List.of());
    }

    private final Name origin;
    private final long ttl;
    private final SOARecord soa;
    private final SOARecord inAddrSoa;
    private final SOARecord ip6Soa;
    private final Map<Name, List<Record>> records;
    private final Set<Name> existing;
    private final int serviceCount;

    private Zone(Name origin, long ttl, long serial, Map<Name, List<Record>> records, Set<Name> existing, int serviceCount) {
        this.origin = origin;
        this.ttl = ttl;
        this.records = records;
        this.existing = existing;
        this.serviceCount = serviceCount;
        this.soa = soa(origin, origin, ttl, serial);
        this.inAddrSoa = soa(IN_ADDR_ARPA, origin, ttl, serial);
        this.ip6Soa = soa(IP6_ARPA, origin, ttl, serial);
    }

    /**
     * The zone of a cluster state.
     *
     * @param state the Services and their endpoints
     * @param origin the cluster domain, absolute (e.g. {@code cluster.local.})
     * @param ttl the TTL of every record and the SOA's minimum, in seconds (≥ 0)
     * @param serial the SOA serial (CoreDNS uses the time of the last change, in Unix seconds)
     * @throws IllegalArgumentException when origin is not absolute or ttl is negative
     */
    public static Zone build(ClusterState state, Name origin, long ttl, long serial) {
        if (!origin.isAbsolute()) throw new IllegalArgumentException("the cluster domain must be absolute: " + origin);
        if (ttl < 0) throw new IllegalArgumentException("negative TTL " + ttl);
        Builder b = new Builder(origin, ttl);
        for (ClusterState.Service s : state.services()) b.service(s);
        b.apex(state, soa(origin, origin, ttl, serial));
        return new Zone(origin, ttl, serial, b.records(), b.existing, state.services().size());
    }

    /** The zone without any Service: version, SOA, NS and pods only. */
    public static Zone empty(Name origin, long ttl) {
        return build(ClusterState.EMPTY, origin, ttl, 0);
    }

    /** The cluster domain, absolute. */
    public Name origin() {
        return origin;
    }

    /** The number of Services it was built from. */
    public int serviceCount() {
        return serviceCount;
    }

    /** The number of records it holds (pod names, made on demand, are not counted). */
    public int recordCount() {
        return records.values().stream().mapToInt(List::size).sum();
    }

    /**
     * The answer to a question of class IN.
     *
     * @param qname the name asked, absolute, in any case
     * @param qtype the type asked ({@link Type}), {@link Type#ANY} for every record of the name
     * @return an authoritative answer for names under the zone and known reverse names, else {@link Answer#NOT_OURS}
     */
    public Answer answer(Name qname, int qtype) {
        if (qname.subdomain(origin)) {
            List<Record> rs = records.get(qname);
            if (rs != null) return found(qname, qtype, rs, soa);
            int depth = qname.labels() - origin.labels();
            if (qname.getLabelString(depth - 1).equalsIgnoreCase("pod")) return pod(qname, qtype, depth);
            return existing.contains(qname) ? negative(Rcode.NOERROR, soa) : negative(Rcode.NXDOMAIN, soa);
        }
        List<Record> rs = records.get(qname);
        if (rs != null) return found(qname, qtype, rs, qname.subdomain(IN_ADDR_ARPA) ? inAddrSoa : ip6Soa);
        return Answer.NOT_OURS;
    }

    private Answer found(Name qname, int qtype, List<Record> rs, SOARecord negativeSoa) {
        List<Record> match = new ArrayList<>(), additional = new ArrayList<>(), cname = new ArrayList<>();
        for (Record r : rs) {
            if (qtype == Type.ANY || r.getType() == qtype) match.add(r.withName(qname));
            if (r.getType() == Type.CNAME) cname.add(r.withName(qname));
        }
        if (match.isEmpty() && !cname.isEmpty()) return new Answer(true, Rcode.NOERROR, cname, List.of(), List.of());
        if (match.isEmpty()) return negative(Rcode.NOERROR, negativeSoa);
        Set<Name> targets = new LinkedHashSet<>();
        for (Record r : match) if (r instanceof SRVRecord srv) targets.add(srv.getTarget());
        for (Name t : targets) {
            for (Record r : records.getOrDefault(t, List.of())) {
                if (r.getType() == Type.A || r.getType() == Type.AAAA) additional.add(r);
            }
        }
        return new Answer(true, Rcode.NOERROR, match, List.of(), additional);
    }

    /** {@code pod.<zone>}, {@code <ns>.pod.<zone>} exist; {@code <dashed-ip>.<ns>.pod.<zone>} is that address. */
    private Answer pod(Name qname, int qtype, int depth) {
        if (depth <= 2) return negative(Rcode.NOERROR, soa);
        if (depth > 3) return negative(Rcode.NXDOMAIN, soa);
        Optional<InetAddress> ip = DashedIp.parse(qname.getLabelString(0));
        if (ip.isEmpty()) return negative(Rcode.NXDOMAIN, soa);
        Record r = address(qname, ip.get(), ttl);
        if (qtype == Type.ANY || qtype == r.getType()) return new Answer(true, Rcode.NOERROR, List.of(r), List.of(), List.of());
        return negative(Rcode.NOERROR, soa);
    }

    private static Answer negative(int rcode, SOARecord soa) {
        return new Answer(true, rcode, List.of(), List.of(soa), List.of());
    }

    private static SOARecord soa(Name owner, Name origin, long ttl, long serial) {
        return new SOARecord(owner, DClass.IN, ttl, nsName(origin), Name.fromConstantString("hostmaster." + origin),
                serial, 7200, 1800, 86400, ttl);
    }

    private static Name nsName(Name origin) {
        return Name.fromConstantString("ns.dns." + origin);
    }

    static Record address(Name owner, InetAddress ip, long ttl) {
        return ip instanceof Inet4Address ? new ARecord(owner, DClass.IN, ttl, ip) : new AAAARecord(owner, DClass.IN, ttl, ip);
    }

    /** Collects records per owner (deduplicated, in order) and the names that exist under the zone. */
    private static final class Builder {
        private final Name origin;
        private final long ttl;
        private final Map<Name, LinkedHashSet<Record>> byOwner = new LinkedHashMap<>();
        private final Map<Name, List<SRVRecord>> srvs = new LinkedHashMap<>();
        final Set<Name> existing = new HashSet<>();

        Builder(Name origin, long ttl) {
            this.origin = origin;
            this.ttl = ttl;
        }

        void service(ClusterState.Service s) {
            Optional<Name> svc = child(s.name(), child(s.namespace(), child("svc", Optional.of(origin))));
            if (svc.isEmpty()) return;
            Name name = svc.get();
            exists(name);
            switch (s.kind()) {
                case CLUSTER_IP -> {
                    for (InetAddress ip : s.clusterIps()) {
                        add(address(name, ip, ttl));
                        add(new PTRRecord(ReverseMap.fromAddress(ip), DClass.IN, ttl, name));
                    }
                    for (ClusterState.Port p : s.ports()) srv(name, p, name);
                }
                case HEADLESS -> {
                    for (ClusterState.Endpoint e : s.endpoints()) {
                        Optional<Name> host = child(e.hostname().isEmpty() ? DashedIp.label(e.ip()) : e.hostname(), svc);
                        if (host.isEmpty()) continue;
                        add(address(name, e.ip(), ttl));
                        add(address(host.get(), e.ip(), ttl));
                        add(new PTRRecord(ReverseMap.fromAddress(e.ip()), DClass.IN, ttl, host.get()));
                        for (ClusterState.Port p : e.ports()) srv(name, p, host.get());
                    }
                }
                case EXTERNAL_NAME -> {
                    String target = s.externalName().endsWith(".") ? s.externalName() : s.externalName() + ".";
                    try {
                        add(new CNAMERecord(name, DClass.IN, ttl, Name.fromString(target)));
                    } catch (TextParseException e) {
                        // an invalid spec.externalName: the Service's name exists, without records
                    }
                }
            }
        }

        /** SRV {@code _<port>._<proto>.<svc>} to target for a named port; the weight is set once all are known. */
        private void srv(Name svc, ClusterState.Port p, Name target) {
            if (p.name().isEmpty()) return;
            Optional<Name> owner = child("_" + p.name().toLowerCase(), child("_" + p.protocol().toLowerCase(), Optional.of(svc)));
            if (owner.isEmpty()) return;
            srvs.computeIfAbsent(owner.get(), k -> new ArrayList<>()).add(new SRVRecord(owner.get(), DClass.IN, ttl, 0, 0, p.port(), target));
        }

        void apex(ClusterState state, SOARecord soa) {
            add(soa);
            add(new NSRecord(origin, DClass.IN, ttl, nsName(origin)));
            try {
                add(new TXTRecord(Name.fromString("dns-version", origin), DClass.IN, ttl, SCHEMA_VERSION));
            } catch (TextParseException e) {
                throw new IllegalStateException(e);
            }
            for (ClusterState.Service s : state.services()) {
                if (s.namespace().equals("kube-system") && s.name().equals("kube-dns")) {
                    for (InetAddress ip : s.clusterIps()) add(address(nsName(origin), ip, ttl));
                }
            }
            exists(nsName(origin)); // the NS record's target, with or without addresses
            exists(Name.fromConstantString("svc." + origin));
            exists(Name.fromConstantString("pod." + origin));
        }

        Map<Name, List<Record>> records() {
            for (Map.Entry<Name, List<SRVRecord>> e : srvs.entrySet()) {
                int weight = Math.max(1, 100 / e.getValue().size());
                for (SRVRecord r : e.getValue()) add(new SRVRecord(r.getName(), DClass.IN, ttl, 0, weight, r.getPort(), r.getTarget()));
            }
            Map<Name, List<Record>> out = new HashMap<>();
            for (Map.Entry<Name, LinkedHashSet<Record>> e : byOwner.entrySet()) out.put(e.getKey(), List.copyOf(e.getValue()));
            return out;
        }

        private void add(Record r) {
            byOwner.computeIfAbsent(r.getName(), k -> new LinkedHashSet<>()).add(r);
            if (r.getName().subdomain(origin)) exists(r.getName());
        }

        /** The name and its ancestors up to the zone exist (empty non-terminals answer NODATA, not NXDOMAIN). */
        private void exists(Name name) {
            for (Name n = name; n.subdomain(origin) && existing.add(n) && !n.equals(origin); n = parent(n)) {
                // walk up
            }
        }

        private static Name parent(Name n) {
            return new Name(n, 1);
        }

        private static Optional<Name> child(String label, Optional<Name> parent) {
            if (parent.isEmpty() || !LABEL.matcher(label).matches()) return Optional.empty();
            try {
                return Optional.of(Name.concatenate(Name.fromString(label), parent.get()));
            } catch (TextParseException | org.xbill.DNS.NameTooLongException e) {
                return Optional.empty();
            }
        }
    }
}
