package io.wiremesh.clusterdns;

import static io.wiremesh.clusterdns.Fixtures.name;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The forwarder against fake upstream servers on the loopback interface. */
class ForwarderTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private final List<AutoCloseable> closing = new java.util.ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) c.close();
    }

    private static Message answer(Message q, int records) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.addRecord(q.getQuestion(), Section.QUESTION);
        for (int i = 0; i < records; i++) {
            r.addRecord(new ARecord(q.getQuestion().getName(), DClass.IN, 60, Fixtures.ip("198.18.0." + (i % 250 + 1))), Section.ANSWER);
        }
        return r;
    }

    /** A UDP server answering each query with {@code records} A records; truncated (TC, no records) when {@code truncate}. */
    private DatagramSocket udpUpstream(int records, boolean truncate, AtomicInteger count, boolean wrongIdFirst) throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        closing.add(s);
        Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[65535];
            try {
                while (true) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    s.receive(p);
                    count.incrementAndGet();
                    Message q = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                    if (wrongIdFirst) {
                        Message spoof = answer(q, 1);
                        spoof.getHeader().setID((q.getHeader().getID() + 1) & 0xffff);
                        byte[] b = spoof.toWire();
                        s.send(new DatagramPacket(b, b.length, p.getSocketAddress()));
                    }
                    Message r = answer(q, truncate ? 0 : records);
                    if (truncate) r.getHeader().setFlag(Flags.TC);
                    byte[] b = r.toWire();
                    s.send(new DatagramPacket(b, b.length, p.getSocketAddress()));
                }
            } catch (Exception e) {
                // closed
            }
        });
        return s;
    }

    /** A UDP server that counts queries and never answers. */
    private DatagramSocket silentUpstream(AtomicInteger heard) throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        closing.add(s);
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    s.receive(new DatagramPacket(new byte[65535], 65535));
                    heard.incrementAndGet();
                }
            } catch (Exception e) {
                // closed
            }
        });
        return s;
    }

    /** A TCP server on the same port answering with {@code records} A records. */
    private void tcpUpstream(int port, int records) throws Exception {
        ServerSocket ss = new ServerSocket(port, 8, LOOPBACK);
        closing.add(ss);
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    try (Socket c = ss.accept()) {
                        DataInputStream in = new DataInputStream(c.getInputStream());
                        byte[] b = new byte[in.readUnsignedShort()];
                        in.readFully(b);
                        byte[] out = answer(new Message(b), records).toWire();
                        DataOutputStream o = new DataOutputStream(c.getOutputStream());
                        o.writeShort(out.length);
                        o.write(out);
                        o.flush();
                    }
                }
            } catch (Exception e) {
                // closed
            }
        });
    }

    private static Message query(String qname) {
        Message q = Message.newQuery(Record.newRecord(name(qname), Type.A, DClass.IN));
        q.getHeader().setID(1234);
        return q;
    }

    @Test
    void answersComeBackUnderTheCallersIdAndSpoofsAreIgnored() throws Exception {
        AtomicInteger count = new AtomicInteger();
        DatagramSocket up = udpUpstream(2, false, count, true);
        Forwarder f = new Forwarder(List.of((InetSocketAddress) up.getLocalSocketAddress()), Liveness.BOUND);
        Optional<Message> r = f.exchange(query("example.com"));
        assertThat(r).isPresent();
        assertThat(r.get().getHeader().getID()).isEqualTo(1234);
        assertThat(r.get().getSection(Section.ANSWER)).hasSize(2);
    }

    @Test
    void aTruncatedUdpAnswerIsAskedAgainOverTcp() throws Exception {
        AtomicInteger count = new AtomicInteger();
        DatagramSocket up = udpUpstream(0, true, count, false);
        tcpUpstream(up.getLocalPort(), 100);
        Forwarder f = new Forwarder(List.of((InetSocketAddress) up.getLocalSocketAddress()), Liveness.BOUND);
        Message r = f.exchange(query("big.example")).orElseThrow();
        assertThat(r.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(r.getSection(Section.ANSWER)).hasSize(100);
        assertThat(r.getHeader().getID()).isEqualTo(1234);
    }

    @Test
    void aSilentServerIsSkippedAndTheOneThatAnsweredIsAskedFirstNextTime() throws Exception {
        AtomicInteger heard = new AtomicInteger();
        DatagramSocket silent = silentUpstream(heard);
        AtomicInteger count = new AtomicInteger();
        DatagramSocket up = udpUpstream(1, false, count, false);
        Forwarder f = new Forwarder(List.of((InetSocketAddress) silent.getLocalSocketAddress(), (InetSocketAddress) up.getLocalSocketAddress()),
                Duration.ofMillis(300));
        assertThat(f.exchange(query("a.example"))).isPresent();
        assertThat(f.exchange(query("b.example"))).isPresent();
        assertThat(count.get()).isEqualTo(2);
        assertThat(heard.get()).as("queries the silent server got").isEqualTo(1);
    }

    @Test
    void nobodyAnsweringIsEmpty() throws Exception {
        DatagramSocket silent = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        closing.add(silent);
        Forwarder f = new Forwarder(List.of((InetSocketAddress) silent.getLocalSocketAddress()), Duration.ofMillis(200));
        assertThat(f.exchange(query("a.example"))).isEmpty();
    }

    @Test
    void onlyAResponseToTheSameQuestionCounts() {
        Message q = query("a.example");
        Message other = answer(query("b.example"), 1);
        assertThat(Forwarder.matching(other.toWire(), 1234, q)).isEmpty();
        assertThat(Forwarder.matching(answer(q, 1).toWire(), 1234, q)).isPresent();
        assertThat(Forwarder.matching(q.toWire(), 1234, q)).as("a query, not a response").isEmpty();
        assertThat(Forwarder.matching(new byte[] {1, 2, 3}, 1234, q)).isEmpty();
    }
}
