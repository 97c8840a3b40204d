package io.wiremesh.clusterdns;

import static io.wiremesh.clusterdns.Fixtures.name;
import static io.wiremesh.clusterdns.Fixtures.sorted;
import static io.wiremesh.clusterdns.Fixtures.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;

class ZoneTest {
    private final Zone zone = Fixtures.zone();

    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
            # name                                              | type  | rcode    | answer ("TYPE rdata; ..."; - for none)
            dns-version.cluster.local                           | TXT   | NOERROR  | TXT "1.1.0"
            cluster.local                                       | SOA   | NOERROR  | SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5
            cluster.local                                       | NS    | NOERROR  | NS ns.dns.cluster.local.
            ns.dns.cluster.local                                | A     | NOERROR  | A 10.96.0.10
            # ClusterIP Services: A/AAAA of the cluster IPs, SRV per named port, PTR of the cluster IPs
            kubernetes.default.svc.cluster.local                | A     | NOERROR  | A 10.96.0.1
            kubernetes.default.svc.cluster.local                | AAAA  | NOERROR  | -
            web.shop.svc.cluster.local                          | A     | NOERROR  | A 10.96.5.5
            web.shop.svc.cluster.local                          | AAAA  | NOERROR  | AAAA fd00:96:0:0:0:0:0:5
            web.shop.svc.cluster.local                          | ANY   | NOERROR  | A 10.96.5.5; AAAA fd00:96:0:0:0:0:0:5
            web.shop.svc.cluster.local                          | TXT   | NOERROR  | -
            _https._tcp.kubernetes.default.svc.cluster.local    | SRV   | NOERROR  | SRV 0 100 443 kubernetes.default.svc.cluster.local.
            _dns._udp.kube-dns.kube-system.svc.cluster.local    | SRV   | NOERROR  | SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.
            _dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local| SRV   | NOERROR  | SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.
            _http._tcp.web.shop.svc.cluster.local               | SRV   | NOERROR  | SRV 0 100 80 web.shop.svc.cluster.local.
            _http._udp.web.shop.svc.cluster.local               | SRV   | NXDOMAIN | -
            _dns._tcp.kube-dns.kube-system.svc.cluster.local    | SRV   | NXDOMAIN | -
            _tcp.web.shop.svc.cluster.local                     | SRV   | NOERROR  | -
            _http._tcp.web.shop.svc.cluster.local               | A     | NOERROR  | -
            1.0.96.10.in-addr.arpa                              | PTR   | NOERROR  | PTR kubernetes.default.svc.cluster.local.
            10.0.96.10.in-addr.arpa                             | PTR   | NOERROR  | PTR kube-dns.kube-system.svc.cluster.local.
            5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa | PTR | NOERROR | PTR web.shop.svc.cluster.local.
            1.0.96.10.in-addr.arpa                              | A     | NOERROR  | -
            # headless Services: every ready endpoint, a name per endpoint (hostname or dashed IP), SRV and PTR to those names
            db.shop.svc.cluster.local                           | A     | NOERROR  | A 10.42.1.5; A 10.42.2.7
            db.shop.svc.cluster.local                           | AAAA  | NOERROR  | AAAA fd00:42:0:0:0:0:0:7
            db-0.db.shop.svc.cluster.local                      | A     | NOERROR  | A 10.42.1.5
            db-0.db.shop.svc.cluster.local                      | AAAA  | NOERROR  | -
            10-42-2-7.db.shop.svc.cluster.local                 | A     | NOERROR  | A 10.42.2.7
            fd00-42--7.db.shop.svc.cluster.local                | AAAA  | NOERROR  | AAAA fd00:42:0:0:0:0:0:7
            10-42-1-5.db.shop.svc.cluster.local                 | A     | NXDOMAIN | -
            db-1.db.shop.svc.cluster.local                      | A     | NXDOMAIN | -
            _mysql._tcp.db.shop.svc.cluster.local               | SRV   | NOERROR  | SRV 0 33 3306 db-0.db.shop.svc.cluster.local.; SRV 0 33 3306 10-42-2-7.db.shop.svc.cluster.local.; SRV 0 33 3306 fd00-42--7.db.shop.svc.cluster.local.
            5.1.42.10.in-addr.arpa                              | PTR   | NOERROR  | PTR db-0.db.shop.svc.cluster.local.
            7.2.42.10.in-addr.arpa                              | PTR   | NOERROR  | PTR 10-42-2-7.db.shop.svc.cluster.local.
            7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.0.0.0.0.d.f.ip6.arpa | PTR | NOERROR | PTR fd00-42--7.db.shop.svc.cluster.local.
            empty.shop.svc.cluster.local                        | A     | NOERROR  | -
            # ExternalName Services: a CNAME, whatever the type asked
            ext.shop.svc.cluster.local                          | A     | NOERROR  | CNAME example.com.
            ext.shop.svc.cluster.local                          | CNAME | NOERROR  | CNAME example.com.
            ext.shop.svc.cluster.local                          | SRV   | NOERROR  | CNAME example.com.
            # pods insecure: any dashed address in any namespace
            10-42-3-4.shop.pod.cluster.local                    | A     | NOERROR  | A 10.42.3.4
            10-42-3-4.no-such-namespace.pod.cluster.local       | A     | NOERROR  | A 10.42.3.4
            10-42-3-4.shop.pod.cluster.local                    | AAAA  | NOERROR  | -
            fd00--1.shop.pod.cluster.local                      | AAAA  | NOERROR  | AAAA fd00:0:0:0:0:0:0:1
            fd00--1.shop.pod.cluster.local                      | A     | NOERROR  | -
            10-42-3-999.shop.pod.cluster.local                  | A     | NXDOMAIN | -
            not-an-ip.shop.pod.cluster.local                    | A     | NXDOMAIN | -
            x.10-42-3-4.shop.pod.cluster.local                  | A     | NXDOMAIN | -
            shop.pod.cluster.local                              | A     | NOERROR  | -
            pod.cluster.local                                   | A     | NOERROR  | -
            # what exists without records, and what does not exist
            svc.cluster.local                                   | A     | NOERROR  | -
            shop.svc.cluster.local                              | A     | NOERROR  | -
            no-such-namespace.svc.cluster.local                 | A     | NXDOMAIN | -
            missing.shop.svc.cluster.local                      | A     | NXDOMAIN | -
            kubernetes.default.wiremesh-test.svc.cluster.local  | A     | NXDOMAIN | -
            kubernetes.default.cluster.local                    | A     | NXDOMAIN | -
            foo.cluster.local                                   | A     | NXDOMAIN | -
            dns-version.cluster.local                           | A     | NOERROR  | -
            # case does not matter
            KUBERNETES.Default.SVC.Cluster.Local                | A     | NOERROR  | A 10.96.0.1
            Db-0.DB.shop.svc.CLUSTER.local                      | A     | NOERROR  | A 10.42.1.5
            10-42-3-4.SHOP.POD.cluster.local                    | A     | NOERROR  | A 10.42.3.4
            _HTTP._Tcp.web.shop.svc.cluster.local               | SRV   | NOERROR  | SRV 0 100 80 web.shop.svc.cluster.local.
            1.0.96.10.IN-ADDR.ARPA                              | PTR   | NOERROR  | PTR kubernetes.default.svc.cluster.local.
            """)
    void answers(String qname, String type, String rcode, String answer) {
        Zone.Answer a = zone.answer(name(qname), Type.value(type));
        assertThat(a.authoritative()).isTrue();
        assertThat(Rcode.string(a.rcode())).isEqualTo(rcode);
        assertThat(text(a.answer())).isEqualTo(sorted(answer));
        // Owned by the name as asked (its case too), with CoreDNS's TTL.
        assertThat(a.answer()).allSatisfy(r -> {
            assertThat(r.getName().toString()).isEqualTo(name(qname).toString());
            assertThat(r.getTTL()).isEqualTo(5);
        });
        // Negative answers (NXDOMAIN and NODATA) carry the SOA of the zone they are in, and nothing else does.
        if (a.answer().isEmpty()) {
            assertThat(a.authority()).singleElement().isInstanceOf(SOARecord.class);
            SOARecord soa = (SOARecord) a.authority().getFirst();
            assertThat(soa.getName()).isEqualTo(qname.toLowerCase().endsWith(".arpa") ? name(qname.toLowerCase().endsWith("in-addr.arpa") ? "in-addr.arpa" : "ip6.arpa") : Fixtures.ORIGIN);
            assertThat(soa.getMinimum()).isEqualTo(5);
            assertThat(soa.getTTL()).isEqualTo(5);
        } else {
            assertThat(a.authority()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0} {1} is not the zone''s")
    @CsvSource(delimiter = '|', textBlock = """
            example.com                 | A
            local                       | SOA
            kubernetes.default          | A
            8.8.8.8.in-addr.arpa        | PTR
            96.10.in-addr.arpa          | PTR
            0.0.96.10.in-addr.arpa      | PTR
            in-addr.arpa                | SOA
            1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa | PTR
            """)
    void namesOutsideTheZoneAndUnknownAddressesAreNotOurs(String qname, String type) {
        assertThat(zone.answer(name(qname), Type.value(type))).isEqualTo(Zone.Answer.NOT_OURS);
    }

    @Test
    void srvAnswersCarryTheirTargetsAddressesAsAdditionalRecords() {
        assertThat(text(zone.answer(name("_http._tcp.web.shop.svc.cluster.local"), Type.SRV).additional()))
                .isEqualTo("A 10.96.5.5; AAAA fd00:96:0:0:0:0:0:5");
        assertThat(text(zone.answer(name("_mysql._tcp.db.shop.svc.cluster.local"), Type.SRV).additional()))
                .isEqualTo("A 10.42.1.5; A 10.42.2.7; AAAA fd00:42:0:0:0:0:0:7");
    }

    @Test
    void anEndpointOfTwoHeadlessServicesHasAPtrToEach() {
        ClusterState.Endpoint e = Fixtures.endpoint("10.42.1.5", "a");
        Zone z = Zone.build(new ClusterState(List.of(Fixtures.headless("x", "one", e), Fixtures.headless("x", "two", e))), Fixtures.ORIGIN, 5, 1);
        assertThat(text(z.answer(name("5.1.42.10.in-addr.arpa"), Type.PTR).answer()))
                .isEqualTo("PTR a.one.x.svc.cluster.local.; PTR a.two.x.svc.cluster.local.");
    }

    @Test
    void namesThatAreNotDnsLabelsAreLeftOut() {
        Zone z = Zone.build(new ClusterState(List.of(Fixtures.clusterIp("x", "bad.name", List.of("10.96.9.9")),
                Fixtures.externalName("x", "broken", "a..b"))), Fixtures.ORIGIN, 5, 1);
        assertThat(z.answer(name("bad.name.x.svc.cluster.local"), Type.A).rcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(z.answer(name("9.9.96.10.in-addr.arpa"), Type.PTR)).isEqualTo(Zone.Answer.NOT_OURS);
        Zone.Answer broken = z.answer(name("broken.x.svc.cluster.local"), Type.A);
        assertThat(broken.rcode()).isEqualTo(Rcode.NOERROR);
        assertThat(broken.answer()).isEmpty();
    }

    @Test
    void anEmptyClusterHasTheVersionApexAndPods() {
        Zone z = Zone.empty(Name.fromConstantString("example.internal."), 30);
        assertThat(text(z.answer(name("dns-version.example.internal"), Type.TXT).answer())).isEqualTo("TXT \"1.1.0\"");
        assertThat(z.answer(name("ns.dns.example.internal"), Type.A).answer()).isEmpty();
        assertThat(z.answer(name("ns.dns.example.internal"), Type.A).rcode()).isEqualTo(Rcode.NOERROR);
        assertThat(z.answer(name("dns.example.internal"), Type.A).rcode()).isEqualTo(Rcode.NOERROR);
        assertThat(z.answer(name("svc.example.internal"), Type.A).rcode()).isEqualTo(Rcode.NOERROR);
        assertThat(z.answer(name("default.svc.example.internal"), Type.A).rcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(z.answer(name("1-2-3-4.ns.pod.example.internal"), Type.A).answer()).singleElement()
                .satisfies(r -> assertThat(r.getTTL()).isEqualTo(30));
        assertThat(z.answer(name("kubernetes.default.svc.cluster.local"), Type.A)).isEqualTo(Zone.Answer.NOT_OURS);
        assertThat(z.serviceCount()).isZero();
    }

    @Test
    void countsServicesAndRecords() {
        assertThat(zone.serviceCount()).isEqualTo(9);
        assertThat(zone.recordCount()).isGreaterThan(30);
        List<Record> all = zone.answer(name("web.shop.svc.cluster.local"), Type.ANY).answer();
        assertThat(all).hasSize(2);
    }
}
