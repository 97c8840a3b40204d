package io.wiremesh.clusterdns;

import static io.wiremesh.clusterdns.Fixtures.name;
import static io.wiremesh.clusterdns.Fixtures.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The UDP, TCP and HTTP servers on the loopback interface, each on a free port. */
class ServersTest {
    private static final InetSocketAddress ANY_LOOPBACK_PORT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private final Metrics metrics = new Metrics();
    private final Exchange exchange = new Exchange(new Resolver(Fixtures::zone, Upstream.NONE, false), metrics);
    private UdpServer udp;
    private TcpServer tcp;

    @BeforeEach
    void start() throws Exception {
        udp = new UdpServer(ANY_LOOPBACK_PORT, exchange).start();
        tcp = new TcpServer(ANY_LOOPBACK_PORT, exchange).start();
    }

    @AfterEach
    void stop() throws Exception {
        udp.close();
        tcp.close();
    }

    private static Message query(String qname, int type, int id) {
        Message q = Message.newQuery(Record.newRecord(name(qname), type, DClass.IN));
        q.getHeader().setID(id);
        return q;
    }

    @Test
    void udpAnswersEachDatagram() throws Exception {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout((int) Liveness.BOUND.toMillis());
            s.connect(udp.address());
            byte[] q = query("kubernetes.default.svc.cluster.local", Type.A, 11).toWire();
            s.send(new DatagramPacket(q, q.length));
            DatagramPacket p = new DatagramPacket(new byte[65535], 65535);
            s.receive(p);
            Message r = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
            assertThat(r.getHeader().getID()).isEqualTo(11);
            assertThat(r.getHeader().getFlag(Flags.AA)).isTrue();
            assertThat(text(r.getSection(Section.ANSWER))).isEqualTo("A 10.96.0.1");
        }
    }

    @Test
    void tcpAnswersSeveralQueriesOnOneConnection() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(tcp.address(), (int) Liveness.BOUND.toMillis());
            s.setSoTimeout((int) Liveness.BOUND.toMillis());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            // Two queries written at once (pipelined), answered in order.
            for (Message q : new Message[] {query("kubernetes.default.svc.cluster.local", Type.A, 21), query("missing.default.svc.cluster.local", Type.A, 22)}) {
                byte[] b = q.toWire();
                out.writeShort(b.length);
                out.write(b);
            }
            out.flush();
            Message first = read(in), second = read(in);
            assertThat(first.getHeader().getID()).isEqualTo(21);
            assertThat(text(first.getSection(Section.ANSWER))).isEqualTo("A 10.96.0.1");
            assertThat(second.getHeader().getID()).isEqualTo(22);
            assertThat(second.getRcode()).isEqualTo(Rcode.NXDOMAIN);
            byte[] b = query("_mysql._tcp.db.shop.svc.cluster.local", Type.SRV, 23).toWire();
            out.writeShort(b.length);
            out.write(b);
            out.flush();
            assertThat(read(in).getSection(Section.ANSWER)).hasSize(3);
        }
    }

    private static Message read(DataInputStream in) throws Exception {
        byte[] b = new byte[in.readUnsignedShort()];
        in.readFully(b);
        return new Message(b);
    }

    @Test
    void statusServerSaysHealthReadinessAndMetrics() throws Exception {
        AtomicBoolean ready = new AtomicBoolean();
        try (StatusServer status = new StatusServer(ANY_LOOPBACK_PORT, ready::get, metrics::render);
             HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + status.address().getPort();
            java.util.function.Function<String, HttpResponse<String>> get = path -> {
                try {
                    return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            assertThat(get.apply("/health").statusCode()).isEqualTo(200);
            assertThat(get.apply("/ready").statusCode()).isEqualTo(503);
            ready.set(true);
            assertThat(get.apply("/ready").statusCode()).isEqualTo(200);
            HttpResponse<String> m = get.apply("/metrics");
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
            assertThat(m.body()).contains("# TYPE wiremesh_dns_requests_total counter\n", "wiremesh_dns_requests_total{transport=\"udp\"} 0.0\n",
                    "wiremesh_dns_requests_total{transport=\"tcp\"} 0.0\n", "wiremesh_dns_dropped_total 0.0\n",
                    "wiremesh_dns_forwarded_total 0.0\n", "wiremesh_dns_forward_failures_total 0.0\n", "wiremesh_dns_truncated_total 0.0\n",
                    "wiremesh_dns_zone_rebuilds_total 0.0\n", "# TYPE wiremesh_dns_zone_services gauge\n", "wiremesh_dns_zone_records 0.0\n");
            // One query over UDP: the counters move in the next scrape.
            try (DatagramSocket s = new DatagramSocket()) {
                s.setSoTimeout((int) Liveness.BOUND.toMillis());
                s.connect(udp.address());
                byte[] q = query("kubernetes.default.svc.cluster.local", Type.A, 31).toWire();
                s.send(new DatagramPacket(q, q.length));
                s.receive(new DatagramPacket(new byte[65535], 65535));
            }
            assertThat(get.apply("/metrics").body()).contains("wiremesh_dns_requests_total{transport=\"udp\"} 1.0\n",
                    "wiremesh_dns_responses_total{rcode=\"NOERROR\"} 1.0\n", "wiremesh_dns_requests_total{transport=\"tcp\"} 0.0\n");
            assertThat(get.apply("/other").statusCode()).isEqualTo(404);
        }
    }
}
