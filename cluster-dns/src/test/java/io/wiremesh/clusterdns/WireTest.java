package io.wiremesh.clusterdns;

import static io.wiremesh.clusterdns.Fixtures.name;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class WireTest {
    /** A headless Service of n endpoints: its A answer is 16 bytes per endpoint plus its question. */
    private static Zone bigZone(int n) {
        List<ClusterState.Endpoint> eps = new ArrayList<>();
        for (int i = 0; i < n; i++) eps.add(Fixtures.endpoint("10.42." + (i / 250) + "." + (1 + i % 250), ""));
        return Zone.build(new ClusterState(List.of(Fixtures.headless("shop", "big", eps.toArray(ClusterState.Endpoint[]::new)))),
                Fixtures.ORIGIN, 5, 1);
    }

    private static Message query(String qname, int type, Integer ednsSize) {
        Message q = Message.newQuery(Record.newRecord(name(qname), type, DClass.IN));
        if (ednsSize != null) q.addRecord(new OPTRecord(ednsSize, 0, 0), Section.ADDITIONAL);
        return q;
    }

    private static Message parse(byte[] b) throws Exception {
        return new Message(b);
    }

    @ParameterizedTest(name = "EDNS0 size {0} -> UDP limit {1}")
    @CsvSource(nullValues = "-", textBlock = """
            -,     512
            0,     512
            100,   512
            512,   512
            1232,  1232
            4096,  4096
            65000, 4096
            """)
    void udpLimits(Integer edns, int limit) {
        assertThat(Wire.udpLimit(query("a.example", Type.A, edns))).isEqualTo(limit);
    }

    @ParameterizedTest(name = "{0} endpoints over {1} with EDNS0 {2}: truncated {3}")
    @CsvSource(nullValues = "-", textBlock = """
            # endpoints, transport, EDNS0 size, truncated
            10,   UDP, -,     false
            40,   UDP, -,     true
            40,   UDP, 1232,  false
            100,  UDP, 1232,  true
            100,  UDP, 4096,  false
            400,  UDP, 65000, true
            400,  TCP, -,     false
            3000, TCP, -,     false
            """)
    void largeAnswersAreTruncatedToTheLimitOfTheirTransport(int endpoints, Exchange.Transport transport, Integer edns, boolean truncated) throws Exception {
        Zone z = bigZone(endpoints);
        Exchange exchange = new Exchange(new Resolver(() -> z, Upstream.NONE, false), new Metrics());
        Message q = query("big.shop.svc.cluster.local", Type.A, edns);
        q.getHeader().setID(777);
        byte[] wire = exchange.handle(q.toWire(), transport);
        Message r = parse(wire);
        int limit = transport == Exchange.Transport.TCP ? 65535 : edns == null ? 512 : Math.clamp(edns, 512, 4096);
        assertThat(wire.length).isLessThanOrEqualTo(limit);
        assertThat(r.getHeader().getID()).isEqualTo(777);
        assertThat(r.getHeader().getFlag(Flags.TC)).isEqualTo(truncated);
        assertThat(r.getQuestion()).isEqualTo(q.getQuestion());
        assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(r.getSection(Section.ANSWER)).hasSize(truncated ? 0 : endpoints);
        // An OPT record exactly when the query had one, truncated or not.
        assertThat(r.getOPT() != null).isEqualTo(edns != null);
        if (edns != null) assertThat(r.getOPT().getPayloadSize()).isEqualTo(Wire.ADVERTISED_UDP_SIZE);
    }

    @Test
    void aResponseKeepsItsHeaderWhenTruncated() throws Exception {
        Message response = new Message(99);
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        response.getHeader().setFlag(Flags.RD);
        Message q = query("big.shop.svc.cluster.local", Type.A, null);
        response.addRecord(q.getQuestion(), Section.QUESTION);
        for (Record r : bigZone(60).answer(name("big.shop.svc.cluster.local"), Type.A).answer()) response.addRecord(r, Section.ANSWER);
        Message t = parse(Wire.encode(response, q, 512));
        assertThat(t.getHeader().getFlag(Flags.TC)).isTrue();
        assertThat(t.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(t.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(t.getHeader().getID()).isEqualTo(99);
        assertThat(t.getSection(Section.ANSWER)).isEmpty();
        assertThat(response.getSection(Section.ANSWER)).hasSize(60); // not modified
    }

    @Test
    void shortRequestsAndResponsesAreDropped() {
        assertThat(Wire.parse(new byte[11])).isInstanceOf(Wire.Drop.class);
        Message m = query("a.example", Type.A, null);
        m.getHeader().setFlag(Flags.QR);
        assertThat(Wire.parse(m.toWire())).isInstanceOf(Wire.Drop.class);
        assertThat(Wire.parse(query("a.example", Type.A, null).toWire())).isInstanceOf(Wire.Query.class);
    }

    @Test
    void aGarbledQueryWithAReadableHeaderGetsFormerr() throws Exception {
        byte[] good = query("a.example", Type.A, null).toWire();
        byte[] garbled = java.util.Arrays.copyOf(good, good.length - 3); // the question is cut short
        int id = ((garbled[0] & 0xff) << 8) | (garbled[1] & 0xff);
        Wire.Request req = Wire.parse(garbled);
        assertThat(req).isInstanceOf(Wire.Reply.class);
        Message r = parse(((Wire.Reply) req).bytes());
        assertThat(r.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(r.getHeader().getID()).isEqualTo(id);
        assertThat(r.getHeader().getFlag(Flags.QR)).isTrue();
    }

    @Test
    void anUnknownEdnsVersionGetsBadvers() throws Exception {
        Message q = Message.newQuery(Record.newRecord(name("kubernetes.default.svc.cluster.local"), Type.A, DClass.IN));
        q.addRecord(new OPTRecord(1232, 0, 1, 0), Section.ADDITIONAL);
        Wire.Request req = Wire.parse(q.toWire());
        assertThat(req).isInstanceOf(Wire.Reply.class);
        Message r = parse(((Wire.Reply) req).bytes());
        assertThat(r.getRcode()).isEqualTo(Rcode.BADVERS);
        assertThat(r.getOPT().getVersion()).isZero();
        assertThat(r.getQuestion()).isEqualTo(q.getQuestion());
    }

    @Test
    void exchangeCountsWhatItAnswers() {
        Metrics metrics = new Metrics();
        Exchange exchange = new Exchange(new Resolver(Fixtures::zone, Upstream.NONE, false), metrics);
        exchange.handle(query("kubernetes.default.svc.cluster.local", Type.A, null).toWire(), Exchange.Transport.UDP);
        exchange.handle(query("missing.default.svc.cluster.local", Type.A, null).toWire(), Exchange.Transport.TCP);
        exchange.handle(query("example.com", Type.A, null).toWire(), Exchange.Transport.UDP);
        assertThat(exchange.handle(new byte[3], Exchange.Transport.UDP)).isNull();
        metrics.zone(Fixtures.zone());
        metrics.forwarded(true);
        metrics.forwarded(false);
        assertThat(metrics.render()).contains(
                "wiremesh_dns_requests_total{transport=\"udp\"} 3.0\n",
                "wiremesh_dns_requests_total{transport=\"tcp\"} 1.0\n",
                "wiremesh_dns_responses_total{rcode=\"NOERROR\"} 1.0\n",
                "wiremesh_dns_responses_total{rcode=\"NXDOMAIN\"} 1.0\n",
                "wiremesh_dns_responses_total{rcode=\"SERVFAIL\"} 1.0\n",
                "wiremesh_dns_truncated_total 0.0\n",
                "wiremesh_dns_dropped_total 1.0\n",
                "wiremesh_dns_forwarded_total 2.0\n",
                "wiremesh_dns_forward_failures_total 1.0\n",
                "wiremesh_dns_zone_rebuilds_total 1.0\n",
                "wiremesh_dns_zone_services 9.0\n",
                "# TYPE wiremesh_dns_requests_total counter\n",
                "# TYPE wiremesh_dns_zone_records gauge\n")
                .doesNotContain("rcode=\"REFUSED\"");
    }

    @Test
    void aNewMetricsRendersEveryNameButTheResponsesAtZero() {
        String text = new Metrics().render();
        for (String counter : new String[] {"wiremesh_dns_requests_total{transport=\"udp\"}", "wiremesh_dns_requests_total{transport=\"tcp\"}",
                "wiremesh_dns_truncated_total", "wiremesh_dns_dropped_total", "wiremesh_dns_forwarded_total",
                "wiremesh_dns_forward_failures_total", "wiremesh_dns_zone_rebuilds_total", "wiremesh_dns_zone_services",
                "wiremesh_dns_zone_records"}) {
            assertThat(text).contains("\n" + counter + " 0.0\n");
        }
        assertThat(text).doesNotContain("wiremesh_dns_responses_total");
    }
}
