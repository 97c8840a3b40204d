package io.wiremesh.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.X25519;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.routing.Prefix;
import io.wiremesh.wireguard.timers.Clock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * 100,000+ hostile datagrams at a live device's real UDP port (loopback) while a session is
 * established through a recording relay: nothing escapes, no thread dies, memory stays flat,
 * drops are counted, and the session keeps working.
 */
class RobustnessTest {
    private static final InetAddress LO = InetAddress.getLoopbackAddress();

    @Test
    void hostileTrafficIsCountedAndHarmless() throws Exception {
        Device.Options opts = new Device.Options(2, 256, true);
        QueueTun tunA = new QueueTun();
        QueueTun tunB = new QueueTun();
        byte[] keyA = X25519.generatePrivateKey();
        byte[] keyB = X25519.generatePrivateKey();
        try (Device a = new Device(tunA, LinuxUdpBind::open, Clock.SYSTEM, opts);
             Device b = new Device(tunB, LinuxUdpBind::open, Clock.SYSTEM, opts);
             DatagramChannel relay = DatagramChannel.open().bind(new InetSocketAddress(LO, 0));
             DatagramChannel fuzzer = DatagramChannel.open().bind(new InetSocketAddress(LO, 0))) {
            a.setPrivateKey(keyA);
            b.setPrivateKey(keyB);
            a.start();
            b.start();
            InetSocketAddress relayAddr = (InetSocketAddress) relay.getLocalAddress();
            InetSocketAddress bAddr = new InetSocketAddress(LO, b.listenPort());
            Peer ab = a.addPeer(X25519.publicKey(keyB));
            ab.setEndpoint(relayAddr); // A talks to B through the relay, which records what passes
            a.addAllowedIp(ab, Prefix.parse("10.200.0.2/32"));
            Peer ba = b.addPeer(X25519.publicKey(keyA));
            b.addAllowedIp(ba, Prefix.parse("10.200.0.1/32"));

            List<byte[]> recorded = new CopyOnWriteArrayList<>();
            Thread relayThread = Thread.ofPlatform().daemon().start(() -> {
                ByteBuffer buf = ByteBuffer.allocate(70000);
                InetSocketAddress aAddr = null;
                try {
                    while (true) {
                        buf.clear();
                        InetSocketAddress from = (InetSocketAddress) relay.receive(buf);
                        buf.flip();
                        byte[] copy = new byte[buf.remaining()];
                        buf.get(copy);
                        if (from.equals(bAddr)) {
                            if (aAddr != null) relay.send(ByteBuffer.wrap(copy), aAddr);
                        } else {
                            aAddr = from;
                            recorded.add(copy);
                            relay.send(ByteBuffer.wrap(copy), bAddr);
                        }
                    }
                } catch (Exception e) {
                    // relay closed
                }
            });

            for (int i = 0; i < 20; i++) tunA.toDevice.add(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 200));
            for (int i = 0; i < 20; i++) assertThat(tunB.fromDevice.poll(Liveness.BOUND.toMillis(), TimeUnit.MILLISECONDS)).isNotNull();
            assertThat(recorded).isNotEmpty();

            long heapBefore = usedHeapAfterGc();
            long dropsBefore = b.totalDrops();
            int sent = fuzz(fuzzer, bAddr, recorded, b, 110_000);

            // Everything sent was dropped and counted (the kernel may have dropped a few on its own).
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while (b.totalDrops() - dropsBefore < sent * 0.99 && System.nanoTime() < deadline) Thread.sleep(100);
            long dropped = b.totalDrops() - dropsBefore;
            System.out.printf("robustness: sent %d hostile datagrams, %d counted as drops: %s%n", sent, dropped, b.dropCounts());
            assertThat(dropped).isGreaterThanOrEqualTo((long) (sent * 0.99)).isLessThanOrEqualTo(sent);
            assertThat(tunB.fromDevice).isEmpty();

            // The session still carries traffic, and every device thread is alive.
            for (int i = 0; i < 20; i++) tunA.toDevice.add(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 300));
            for (int i = 0; i < 20; i++) assertThat(tunB.fromDevice.poll(Liveness.BOUND.toMillis(), TimeUnit.MILLISECONDS)).isNotNull();
            assertThat(Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("wg-") && t.isAlive())
                    .map(Thread::getName)).contains("wg-udp-reader", "wg-tun-reader", "wg-handshake", "wg-timers",
                    "wg-rx-crypto-0", "wg-rx-crypto-1", "wg-rx-deliver");
            long heapAfter = usedHeapAfterGc();
            System.out.printf("robustness: heap used %d KiB before, %d KiB after%n", heapBefore >> 10, heapAfter >> 10);
            assertThat(heapAfter - heapBefore).isLessThan(16L << 20);
            relay.close();
            relayThread.join(2000);
        }
    }

    private static int fuzz(DatagramChannel out, InetSocketAddress to, List<byte[]> genuine, Device b, int n) throws Exception {
        long dropsBefore = b.totalDrops();
        Random r = new Random(42);
        ByteBuffer big = ByteBuffer.allocate(65507);
        List<byte[]> transport = new ArrayList<>();
        for (byte[] g : genuine) if (g[0] == Protocol.MESSAGE_TRANSPORT) transport.add(g);
        int sent = 0;
        for (int i = 0; i < n; i++) {
            byte[] m;
            switch (i % 8) {
                case 0 -> m = transport.get(r.nextInt(transport.size())).clone(); // replayed counter
                case 1 -> { // bit-flipped genuine packet: bad MAC / bad tag
                    byte[] g = genuine.get(r.nextInt(genuine.size()));
                    m = g.clone();
                    m[r.nextInt(m.length)] ^= (byte) (1 << r.nextInt(8));
                }
                case 2 -> { // truncated genuine packet
                    byte[] g = genuine.get(r.nextInt(genuine.size()));
                    m = java.util.Arrays.copyOf(g, r.nextInt(g.length));
                }
                case 3 -> { // right size, right type, random content: bad mac1
                    m = new byte[Protocol.INITIATION_SIZE];
                    r.nextBytes(m);
                    m[0] = 1;
                    m[1] = m[2] = m[3] = 0;
                }
                case 4 -> { // live receiver index, forged counter and ciphertext
                    m = new byte[32 + r.nextInt(1400)];
                    r.nextBytes(m);
                    System.arraycopy(transport.get(0), 0, m, 0, 8);
                }
                case 5 -> { // wrong type
                    m = new byte[r.nextInt(300)];
                    r.nextBytes(m);
                    if (m.length > 0) m[0] = (byte) (5 + r.nextInt(250));
                }
                case 6 -> { // oversized
                    big.clear();
                    out.send(big, to);
                    sent++;
                    continue;
                }
                default -> {
                    m = new byte[r.nextInt(1500)];
                    r.nextBytes(m);
                }
            }
            out.send(ByteBuffer.wrap(m), to);
            sent++;
            // Let the receiver keep up (at most ~1,000 datagrams in flight): kernel socket-buffer drops are not the
            // subject here, and a fixed pause proved too short on a loaded machine.
            if ((i & 127) == 0) {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (b.totalDrops() - dropsBefore < sent - 1000 && System.nanoTime() < until) Thread.sleep(1);
            }
        }
        return sent;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
