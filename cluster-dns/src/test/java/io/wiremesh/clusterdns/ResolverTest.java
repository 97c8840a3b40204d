package io.wiremesh.clusterdns;

import static io.wiremesh.clusterdns.Fixtures.name;
import static io.wiremesh.clusterdns.Fixtures.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class ResolverTest {
    /** An upstream that knows example.com (A 93.184.215.14) and says NXDOMAIN for the rest; remembers what it was asked. */
    static final class FakeUpstream implements Upstream {
        final List<Message> asked = new ArrayList<>();

        @Override
        public Optional<Message> exchange(Message query) {
            asked.add(query);
            Message r = new Message(query.getHeader().getID());
            r.getHeader().setFlag(Flags.QR);
            r.getHeader().setFlag(Flags.RA);
            r.getHeader().setFlag(Flags.AD);
            r.addRecord(query.getQuestion(), Section.QUESTION);
            if (query.getQuestion().getName().equals(name("example.com")) && query.getQuestion().getType() == Type.A) {
                r.addRecord(new ARecord(name("example.com"), DClass.IN, 300, Fixtures.ip("93.184.215.14")), Section.ANSWER);
            } else {
                r.getHeader().setRcode(Rcode.NXDOMAIN);
            }
            r.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
            return Optional.of(r);
        }
    }

    private final FakeUpstream upstream = new FakeUpstream();
    private final Resolver resolver = new Resolver(Fixtures::zone, upstream, true);
    private final Resolver isolated = new Resolver(Fixtures::zone, Upstream.NONE, false);

    private static Message query(String qname, int type) {
        Message q = Message.newQuery(Record.newRecord(name(qname), type, DClass.IN));
        q.getHeader().setID(4242);
        return q;
    }

    @ParameterizedTest(name = "{0} {1}: {2} {3}, AA {4}")
    @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
            # name                                 | type  | rcode    | answer                                                    | AA
            kubernetes.default.svc.cluster.local   | A     | NOERROR  | A 10.96.0.1                                               | true
            missing.default.svc.cluster.local      | A     | NXDOMAIN | -                                                         | true
            kubernetes.default.svc.cluster.local   | MX    | NOERROR  | -                                                         | true
            # an ExternalName in the zone is followed in the zone
            inner.shop.svc.cluster.local           | A     | NOERROR  | CNAME web.shop.svc.cluster.local.; A 10.96.5.5            | true
            inner.shop.svc.cluster.local           | AAAA  | NOERROR  | CNAME web.shop.svc.cluster.local.; AAAA fd00:96:0:0:0:0:0:5 | true
            inner.shop.svc.cluster.local           | CNAME | NOERROR  | CNAME web.shop.svc.cluster.local.                         | true
            # ... and outside it upstream
            ext.shop.svc.cluster.local             | A     | NOERROR  | CNAME example.com.; A 93.184.215.14                       | true
            ext.shop.svc.cluster.local             | AAAA  | NXDOMAIN | CNAME example.com.                                        | true
            # a loop ends
            loop1.shop.svc.cluster.local           | A     | NOERROR  | CNAME loop2.shop.svc.cluster.local.; CNAME loop1.shop.svc.cluster.local. | true
            # other names: upstream
            example.com                            | A     | NOERROR  | A 93.184.215.14                                           | false
            nothing.example                        | A     | NXDOMAIN | -                                                         | false
            8.8.8.8.in-addr.arpa                   | PTR   | NXDOMAIN | -                                                         | false
            """)
    void answersFromTheZoneOrUpstream(String qname, String type, String rcode, String answer, boolean aa) {
        Message r = resolver.resolve(query(qname, Type.value(type)));
        assertThat(r.getHeader().getID()).isEqualTo(4242);
        assertThat(r.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(r.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(r.getHeader().getFlag(Flags.RA)).isTrue();
        assertThat(r.getQuestion()).isEqualTo(query(qname, Type.value(type)).getQuestion());
        assertThat(Rcode.string(r.getRcode())).isEqualTo(rcode);
        assertThat(text(r.getSection(Section.ANSWER))).isEqualTo(Fixtures.sorted(answer));
        assertThat(r.getHeader().getFlag(Flags.AA)).isEqualTo(aa);
        assertThat(r.getSection(Section.ADDITIONAL)).noneMatch(rec -> rec.getType() == Type.OPT);
    }

    @Test
    void negativeAnswersOfTheZoneCarryItsSoa() {
        Message r = resolver.resolve(query("missing.default.svc.cluster.local", Type.A));
        assertThat(text(r.getSection(Section.AUTHORITY))).startsWith("SOA ns.dns.cluster.local. hostmaster.cluster.local.");
        assertThat(upstream.asked).isEmpty();
    }

    @Test
    void srvAnswersCarryTargetAddresses() {
        Message r = resolver.resolve(query("_https._tcp.kubernetes.default.svc.cluster.local", Type.SRV));
        assertThat(text(r.getSection(Section.ANSWER))).isEqualTo("SRV 0 100 443 kubernetes.default.svc.cluster.local.");
        assertThat(text(r.getSection(Section.ADDITIONAL))).isEqualTo("A 10.96.0.1");
    }

    @Test
    void forwardedQueriesAskTheSameQuestionWithEdnsAndTheClientsFlags() {
        Message q = query("example.com", Type.A);
        q.getHeader().setFlag(Flags.CD);
        q.addRecord(new OPTRecord(512, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        Message r = resolver.resolve(q);
        Message sent = upstream.asked.getFirst();
        assertThat(sent.getQuestion()).isEqualTo(q.getQuestion());
        assertThat(sent.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(sent.getHeader().getFlag(Flags.CD)).isTrue();
        assertThat(sent.getOPT().getPayloadSize()).isEqualTo(Wire.ADVERTISED_UDP_SIZE);
        assertThat(sent.getOPT().getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
        // The upstream's flags that describe its answer come back; its OPT does not (Wire adds this server's).
        assertThat(r.getHeader().getFlag(Flags.AD)).isTrue();
        assertThat(r.getOPT()).isNull();
    }

    @Test
    void withoutUpstreamOtherNamesAreServfail() {
        Message r = isolated.resolve(query("example.com", Type.A));
        assertThat(r.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(r.getHeader().getFlag(Flags.RA)).isFalse();
        assertThat(r.getSection(Section.ANSWER)).isEmpty();
        // The zone's names still answer; an ExternalName whose target cannot be resolved is its CNAME alone.
        assertThat(isolated.resolve(query("kubernetes.default.svc.cluster.local", Type.A)).getRcode()).isEqualTo(Rcode.NOERROR);
        Message ext = isolated.resolve(query("ext.shop.svc.cluster.local", Type.A));
        assertThat(ext.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(text(ext.getSection(Section.ANSWER))).isEqualTo("CNAME example.com.");
    }

    @Test
    void otherOpcodesClassesAndTransfersAreRefused() {
        Message notify = query("cluster.local", Type.SOA);
        notify.getHeader().setOpcode(Opcode.NOTIFY);
        assertThat(resolver.resolve(notify).getRcode()).isEqualTo(Rcode.NOTIMP);

        Message chaos = Message.newQuery(Record.newRecord(name("version.bind"), Type.TXT, DClass.CH));
        assertThat(resolver.resolve(chaos).getRcode()).isEqualTo(Rcode.REFUSED);

        assertThat(resolver.resolve(query("cluster.local", Type.AXFR)).getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(resolver.resolve(query("cluster.local", Type.IXFR)).getRcode()).isEqualTo(Rcode.REFUSED);

        Message none = new Message(7);
        assertThat(resolver.resolve(none).getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(upstream.asked).isEmpty();
    }

    @Test
    void classAnyIsAnsweredLikeIn() {
        Message q = Message.newQuery(Record.newRecord(name("kubernetes.default.svc.cluster.local"), Type.A, DClass.ANY));
        assertThat(text(resolver.resolve(q).getSection(Section.ANSWER))).isEqualTo("A 10.96.0.1");
    }

    @Test
    void aQueryWithoutRdGetsAResponseWithoutRd() {
        Message q = query("kubernetes.default.svc.cluster.local", Type.A);
        q.getHeader().unsetFlag(Flags.RD);
        assertThat(resolver.resolve(q).getHeader().getFlag(Flags.RD)).isFalse();
    }
}
