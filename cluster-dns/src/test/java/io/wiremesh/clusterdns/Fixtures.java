package io.wiremesh.clusterdns;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/** A small cluster for the zone and resolver tests, and helpers to read answers as text. */
final class Fixtures {
    static final Name ORIGIN = Name.fromConstantString("cluster.local.");

    private Fixtures() {}

    static InetAddress ip(String s) {
        return InetAddress.ofLiteral(s);
    }

    static ClusterState.Port port(String name, String proto, int port) {
        return new ClusterState.Port(name, proto, port);
    }

    static ClusterState.Service clusterIp(String ns, String name, List<String> ips, ClusterState.Port... ports) {
        return new ClusterState.Service(ns, name, ClusterState.Kind.CLUSTER_IP, ips.stream().map(Fixtures::ip).toList(), "", List.of(ports), List.of());
    }

    static ClusterState.Service headless(String ns, String name, ClusterState.Endpoint... endpoints) {
        return new ClusterState.Service(ns, name, ClusterState.Kind.HEADLESS, List.of(), "", List.of(), List.of(endpoints));
    }

    static ClusterState.Service externalName(String ns, String name, String target) {
        return new ClusterState.Service(ns, name, ClusterState.Kind.EXTERNAL_NAME, List.of(), target, List.of(), List.of());
    }

    static ClusterState.Endpoint endpoint(String ip, String hostname, ClusterState.Port... ports) {
        return new ClusterState.Endpoint(ip(ip), hostname, List.of(ports));
    }

    /**
     * default/kubernetes (10.96.0.1, https 443), kube-system/kube-dns (10.96.0.10, dns 53/UDP, dns-tcp 53/TCP),
     * shop/web (dual-stack, http 80 and an unnamed port), shop/db (headless: db-0 at 10.42.1.5, 10.42.2.7 and
     * fd00:42::7 without hostname, mysql 3306), shop/empty (headless, no endpoint), shop/ext (ExternalName
     * example.com), shop/inner (ExternalName to web.shop.svc.cluster.local), shop/loop1 and loop2 (ExternalNames
     * pointing at each other).
     */
    static ClusterState cluster() {
        ClusterState.Port mysql = port("mysql", "TCP", 3306);
        return new ClusterState(List.of(
                clusterIp("default", "kubernetes", List.of("10.96.0.1"), port("https", "TCP", 443)),
                clusterIp("kube-system", "kube-dns", List.of("10.96.0.10"), port("dns", "UDP", 53), port("dns-tcp", "TCP", 53)),
                clusterIp("shop", "web", List.of("10.96.5.5", "fd00:96::5"), port("http", "TCP", 80), port("", "TCP", 8080)),
                headless("shop", "db", endpoint("10.42.1.5", "db-0", mysql), endpoint("10.42.2.7", "", mysql), endpoint("fd00:42::7", null, mysql)),
                headless("shop", "empty"),
                externalName("shop", "ext", "example.com"),
                externalName("shop", "inner", "web.shop.svc.cluster.local."),
                externalName("shop", "loop1", "loop2.shop.svc.cluster.local"),
                externalName("shop", "loop2", "loop1.shop.svc.cluster.local")));
    }

    static Zone zone() {
        return Zone.build(cluster(), ORIGIN, Zone.DEFAULT_TTL, 1700000000L);
    }

    static Name name(String s) {
        return Name.fromConstantString(s.endsWith(".") ? s : s + ".");
    }

    /** Records as "TYPE rdata", sorted, joined with "; " (the tables' notation). */
    static String text(List<Record> records) {
        return records.stream().map(r -> Type.string(r.getType()) + " " + r.rdataToString()).sorted().collect(Collectors.joining("; "));
    }

    /** The tables' notation, normalized: entries trimmed and sorted. */
    static String sorted(String expected) {
        if (expected == null || expected.isBlank()) return "";
        return Arrays.stream(expected.split(";")).map(String::trim).sorted().collect(Collectors.joining("; "));
    }
}
