package io.wiremesh.bench;

import io.wiremesh.node.keys.KemKey;
import io.wiremesh.node.psk.ExchangeMessage;
import io.wiremesh.node.psk.PairChain;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The simulated nodes of {@code bench/node-scale.sh}'s preshared-key mode: the other side of every pair
 * the node under test has, running the product's own exchange code ({@link PairChain},
 * {@link ExchangeMessage}, {@link KemKey}) with each simulated node's own WireGuard and ML-KEM keys.
 * The simulated overlay addresses (10.(64 + i / 256).(i % 256).1) are local addresses of the node's
 * namespace, so the node-daemon's datagrams to them arrive here: one socket per simulated node, on
 * its address, port 51821 (the exchange's port for WireGuard's 51820).
 *
 * <pre>
 *   PskPeers gen DIR N            ML-KEM keys of sim-1 .. sim-(N-1) under DIR/kem/I, public keys to DIR/kem.pub (one per line)
 *   PskPeers run DIR N SELF SELF_OVERLAY INTERVAL SELF_WG_PUBLIC SELF_KEM_PUBLIC
 * </pre>
 * DIR/wg.keys holds "private public" per line for node 0 .. N. Prints the exchanges it completed every 10 s.
 */
public final class PskPeers {
    private PskPeers() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        int n = Integer.parseInt(args[2]);
        if (args[0].equals("gen")) {
            StringBuilder pub = new StringBuilder();
            for (int i = 1; i < n; i++) pub.append(KemKey.loadOrCreate(dir.resolve("kem/" + i)).publicKeyBase64()).append('\n');
            Files.writeString(dir.resolve("kem.pub"), pub);
            return;
        }
        String self = args[3];
        InetAddress selfOverlay = InetAddress.ofLiteral(args[4]);
        Duration interval = Duration.parse("PT" + args[5].toUpperCase());
        String selfPublic = args[6], selfKem = args[7];
        List<String> wg = Files.readAllLines(dir.resolve("wg.keys"));
        Map<String, PairChain> chains = new HashMap<>();
        Map<String, byte[]> macKeys = new HashMap<>();
        Map<String, KemKey> kems = new HashMap<>();
        for (int i = 1; i < n; i++) {
            String name = "sim-" + i;
            String[] k = wg.get(i).trim().split("\\s+");
            PairChain c = new PairChain(name, self, java.util.concurrent.ThreadLocalRandom.current().nextLong(5001)); // as the nodes would
            c.bind(k[1], selfPublic);
            chains.put(name, c);
            macKeys.put(name, ExchangeMessage.macKey(X25519.dh(Keys.fromBase64(k[0]), Keys.fromBase64(selfPublic)), name, self));
            kems.put(name, KemKey.loadOrCreate(dir.resolve("kem/" + i)));
        }
        java.nio.channels.Selector selector = java.nio.channels.Selector.open();
        Map<String, java.nio.channels.DatagramChannel> channels = new HashMap<>();
        for (int i = 1; i < n; i++) {
            var ch = java.nio.channels.DatagramChannel.open();
            ch.bind(new InetSocketAddress(InetAddress.ofLiteral("10." + (64 + i / 256) + "." + (i % 256) + ".1"), ExchangeMessage.port(51820)));
            ch.configureBlocking(false);
            ch.register(selector, java.nio.channels.SelectionKey.OP_READ, "sim-" + i);
            channels.put("sim-" + i, ch);
        }
        InetSocketAddress to = new InetSocketAddress(selfOverlay, ExchangeMessage.port(51820));
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(ExchangeMessage.MAX_BYTES);
        long lastTick = 0, lastReport = System.currentTimeMillis(), rotated = 0;
        while (true) {
            selector.select(100);
            for (var key : selector.selectedKeys()) {
                String sim = (String) key.attachment();
                var ch = (java.nio.channels.DatagramChannel) key.channel();
                while (true) {
                    buf.clear();
                    if (ch.receive(buf) == null) break;
                    try {
                        ExchangeMessage m = ExchangeMessage.decode(buf.array(), buf.position(),
                                (sender, receiver) -> self.equals(sender) && sim.equals(receiver) ? macKeys.get(receiver) : null);
                        KemKey kem = kems.get(sim);
                        PairChain.Step step = chains.get(sim).receive(m, System.currentTimeMillis(), kem.publicKeyBase64(), kem::decapsulate);
                        if (step.event() == PairChain.Event.ROTATED) rotated++;
                        send(ch, step, macKeys.get(sim), to);
                    } catch (ExchangeMessage.Rejected e) {
                        System.err.println("rejected: " + e.getMessage());
                    }
                }
            }
            selector.selectedKeys().clear();
            long now = System.currentTimeMillis();
            if (now - lastTick >= 1000) {
                lastTick = now;
                for (var e : chains.entrySet()) {
                    PairChain.Step step = e.getValue().tick(now, interval, selfKem, -1, KemKey::encapsulate);
                    if (step.event() == PairChain.Event.ROTATED) rotated++;
                    send(channels.get(e.getKey()), step, macKeys.get(e.getKey()), to);
                }
            }
            if (now - lastReport >= 10_000) {
                System.out.println("psk-peers: " + rotated + " exchanges completed");
                lastReport = now;
            }
        }
    }

    private static void send(java.nio.channels.DatagramChannel ch, PairChain.Step step, byte[] macKey, InetSocketAddress to) throws Exception {
        if (step.send() == null) return;
        ch.send(java.nio.ByteBuffer.wrap(step.send().encode(macKey)), to);
    }
}
