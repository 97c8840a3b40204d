package io.wiremesh.wireguard.device;

import static io.wiremesh.wireguard.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.noise.Handshake;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two devices on a deterministic in-memory network with a fake clock: the protocol end to end. */
class DeviceTest {
    private MemoryNet net;
    private MemoryNet.Node a;
    private MemoryNet.Node b;
    private Peer aToB;
    private Peer bToA;

    @BeforeEach
    void setUp() throws Exception {
        net = new MemoryNet();
        a = net.node("10.9.0.1", 51820);
        b = net.node("10.9.0.2", 51821);
        aToB = a.connect(b, "10.200.0.2/32", "fd00::2/128");
        bToA = b.connect(a, "10.200.0.1/32");
    }

    private static boolean isType(MemoryNet.Datagram d, int type) {
        return d.type() == type;
    }

    private void establish() throws Exception {
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 100));
        net.pump();
        assertThat(b.tunOut).hasSize(1);
    }

    @Test
    void firstPacketTriggersHandshakeAndArrivesIntact() throws Exception {
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 1000);
        a.fromTun(pkt);
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(1);
        net.pump();
        assertThat(net.count(d -> isType(d, MESSAGE_RESPONSE))).isEqualTo(1);
        assertThat(b.tunOut).hasSize(1);
        assertThat(b.tunOut.get(0)).isEqualTo(pkt);
        // Padded to 16 bytes inside the transport message: 1020 -> 1024 + 16 tag + 16 header.
        assertThat(net.sent.stream().filter(d -> isType(d, MESSAGE_TRANSPORT)).mapToInt(d -> d.data().length))
                .contains(1024 + 32);
        // The responder's session was confirmed by the initiator's first transport packet.
        assertThat(bToA.currentKeypair()).isNotNull();
        assertThat(bToA.lastHandshakeEpochNanos()).isPositive();
        assertThat(aToB.lastHandshakeEpochNanos()).isPositive();

        byte[] reply = MemoryNet.ipv4("10.200.0.2", "10.200.0.1", 33);
        b.fromTun(reply);
        net.pump();
        assertThat(a.tunOut).containsExactly(reply);
        assertThat(aToB.txBytes()).isPositive();
        assertThat(aToB.rxBytes()).isPositive();
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(1);
    }

    @Test
    void packetsFromASourceThePeerMayNotUseAreDropped() throws Exception {
        establish();
        a.fromTun(MemoryNet.ipv4("10.200.0.99", "10.200.0.2", 50));
        net.pump();
        assertThat(b.tunOut).hasSize(1);
        assertThat(b.device.drops(Drop.DISALLOWED_SOURCE)).isEqualTo(1);
    }

    @Test
    void packetsWithoutARouteAreDropped() throws Exception {
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.77.0.2", 50));
        assertThat(net.sent).isEmpty();
        assertThat(a.device.drops(Drop.NO_ROUTE)).isEqualTo(1);
    }

    @Test
    void replayedTransportPacketsAreDropped() throws Exception {
        establish();
        MemoryNet.Datagram data = net.sent.stream().filter(d -> isType(d, MESSAGE_TRANSPORT) && d.data().length > 32)
                .findFirst().orElseThrow();
        b.fromUdp(data.data(), data.from());
        assertThat(b.tunOut).hasSize(1);
        assertThat(b.device.drops(Drop.REPLAYED_COUNTER)).isEqualTo(1);
        // A tampered copy does not authenticate.
        byte[] bad = data.data().clone();
        bad[40] ^= 1;
        b.fromUdp(bad, data.from());
        assertThat(b.device.drops(Drop.DECRYPT_FAILED)).isEqualTo(1);
    }

    @Test
    void lostInitiationsAreRetransmittedThenAbandoned() throws Exception {
        net.filter = d -> false; // the network eats everything
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.run(130 * SECOND, 100_000_000L);
        long initiations = net.count(d -> isType(d, MESSAGE_INITIATION));
        assertThat(initiations).isEqualTo(MAX_TIMER_HANDSHAKES + 2); // first + retries, then give up
        net.run(60 * SECOND, SECOND);
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(initiations);
    }

    @Test
    void handshakeSucceedsAfterLosses() throws Exception {
        int[] dropped = {0};
        net.filter = d -> !(isType(d, MESSAGE_INITIATION) && dropped[0]++ < 3);
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10);
        a.fromTun(pkt);
        net.run(30 * SECOND, 100_000_000L);
        assertThat(b.tunOut).containsExactly(pkt);
    }

    @Test
    void initiatorRekeysAfterRekeyAfterTime() throws Exception {
        establish();
        net.run(REKEY_AFTER_TIME + SECOND, SECOND); // idle: keepalives, no rekey yet
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(1);
        var before = aToB.currentKeypair();
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.pump();
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(2);
        assertThat(aToB.currentKeypair()).isNotSameAs(before);
        assertThat(b.tunOut).hasSize(2);
    }

    @Test
    void expiredSessionIsNotUsedAndANewHandshakeFollows() throws Exception {
        establish();
        net.filter = d -> false;
        net.run(REJECT_AFTER_TIME + SECOND, SECOND);
        net.filter = d -> true;
        long before = net.count(d -> isType(d, MESSAGE_INITIATION));
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10);
        a.fromTun(pkt);
        net.pump();
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isGreaterThan(before);
        assertThat(b.tunOut).hasSize(2);
        assertThat(b.tunOut.get(1)).isEqualTo(pkt);
    }

    @Test
    void receiverSendsAKeepaliveWhenItHasNothingToSay() throws Exception {
        establish();
        long keepalives = net.count(d -> isType(d, MESSAGE_TRANSPORT) && d.data().length == 32 && d.from().equals(b.address));
        net.run(KEEPALIVE_TIMEOUT + SECOND, 100_000_000L);
        assertThat(net.count(d -> isType(d, MESSAGE_TRANSPORT) && d.data().length == 32 && d.from().equals(b.address)))
                .isEqualTo(keepalives + 1);
    }

    @Test
    void persistentKeepaliveKeepsSending() throws Exception {
        establish();
        a.device.setPersistentKeepalive(aToB, 5);
        net.run(SECOND, SECOND);
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.pump();
        long n0 = net.count(d -> d.from().equals(a.address) && isType(d, MESSAGE_TRANSPORT) && d.data().length == 32);
        net.run(31 * SECOND, 500_000_000L);
        long n1 = net.count(d -> d.from().equals(a.address) && isType(d, MESSAGE_TRANSPORT) && d.data().length == 32);
        assertThat(n1 - n0).isBetween(5L, 7L);
    }

    @Test
    void keyMaterialIsZeroedAfterRejectAfterTimeTimesThree() throws Exception {
        establish();
        net.filter = d -> false;
        net.run(REJECT_AFTER_TIME * 3 + 10 * SECOND, 5 * SECOND);
        assertThat(aToB.currentKeypair()).isNull();
        assertThat(bToA.currentKeypair()).isNull();
        assertThat(aToB.handshake.state()).isEqualTo(Handshake.State.ZEROED);
    }

    @Test
    void underLoadACookieIsRequiredAndThenHonoured() throws Exception {
        b.device.setUnderLoad(true);
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10);
        a.fromTun(pkt);
        net.pump();
        assertThat(net.count(d -> isType(d, MESSAGE_COOKIE_REPLY))).isEqualTo(1);
        assertThat(net.count(d -> isType(d, MESSAGE_RESPONSE))).isZero();
        assertThat(b.device.drops(Drop.COOKIE_REQUIRED)).isEqualTo(1);
        // The retransmission carries mac2 and is answered.
        net.run(REKEY_TIMEOUT + SECOND, 100_000_000L);
        assertThat(net.count(d -> isType(d, MESSAGE_RESPONSE))).isEqualTo(1);
        assertThat(b.tunOut).containsExactly(pkt);
    }

    @Test
    void underLoadInitiationsArePerSourceRateLimited() throws Exception {
        b.device.setUnderLoad(true);
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.pump(); // cookie obtained
        MemoryNet.Datagram init = null;
        net.run(REKEY_TIMEOUT + SECOND, 100_000_000L);
        init = net.sent.stream().filter(d -> isType(d, MESSAGE_INITIATION)).reduce((x, y) -> y).orElseThrow();
        // Replays of a valid (mac2-carrying) initiation from one source: the bucket empties.
        for (int i = 0; i < 50; i++) b.fromUdp(init.data(), init.from());
        assertThat(b.device.drops(Drop.RATE_LIMITED)).isGreaterThan(40);
    }

    @Test
    void endpointFollowsTheLatestAuthenticatedSource() throws Exception {
        establish();
        InetSocketAddress moved = new InetSocketAddress(InetAddress.getByName("10.9.1.7"), 40000);
        a.address = moved;
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.pump();
        assertThat(bToA.endpoint().address()).isEqualTo(moved);
        byte[] reply = MemoryNet.ipv4("10.200.0.2", "10.200.0.1", 20);
        b.fromTun(reply);
        net.pump();
        assertThat(net.sent.get(net.sent.size() - 1).to()).isEqualTo(moved);
        assertThat(a.tunOut).containsExactly(reply);
        // An unauthenticated packet from elsewhere does not move the endpoint.
        b.fromUdp(new byte[] {4, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                new InetSocketAddress(InetAddress.getByName("10.66.6.6"), 1));
        assertThat(bToA.endpoint().address()).isEqualTo(moved);
    }

    @Test
    void presharedKeyOnBothSidesWorksAndAMismatchDoesNot() throws Exception {
        byte[] psk = Keys.random().generateSeed(32);
        a.device.setPresharedKey(aToB, psk);
        b.device.setPresharedKey(bToA, psk);
        establish();
        b.device.setPresharedKey(bToA, Keys.random().generateSeed(32));
        net.run(REKEY_AFTER_TIME + SECOND, SECOND);
        a.fromTun(MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10));
        net.run(3 * SECOND, 100_000_000L);
        assertThat(b.tunOut).hasSize(2); // the old session still carries it
        assertThat(a.device.drops(Drop.BAD_HANDSHAKE)).isPositive();
    }

    @Test
    void changingThePrivateKeyForcesANewHandshake() throws Exception {
        establish();
        byte[] fresh = io.wiremesh.wireguard.crypto.X25519.generatePrivateKey();
        a.device.setPrivateKey(fresh);
        b.device.removePeer(bToA);
        bToA = b.device.addPeer(io.wiremesh.wireguard.crypto.X25519.publicKey(fresh));
        b.device.addAllowedIp(bToA, io.wiremesh.wireguard.routing.Prefix.parse("10.200.0.1/32"));
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10);
        a.fromTun(pkt);
        net.pump();
        assertThat(net.count(d -> isType(d, MESSAGE_INITIATION))).isEqualTo(2);
        assertThat(b.tunOut).hasSize(2);
    }

    @Test
    void garbageNeverBreaksAnEstablishedSession() throws Exception {
        establish();
        Random r = new Random(7);
        MemoryNet.Datagram data = net.sent.stream().filter(d -> isType(d, MESSAGE_TRANSPORT) && d.data().length > 32)
                .findFirst().orElseThrow();
        MemoryNet.Datagram init = net.sent.stream().filter(d -> isType(d, MESSAGE_INITIATION)).findFirst().orElseThrow();
        for (int i = 0; i < 20_000; i++) {
            byte[] base = switch (i % 4) {
                case 0 -> data.data();
                case 1 -> init.data();
                default -> new byte[r.nextInt(200)];
            };
            byte[] m = java.util.Arrays.copyOf(base, Math.max(0, base.length + r.nextInt(9) - 4));
            if (i % 4 >= 2) r.nextBytes(m);
            if (m.length > 0) m[r.nextInt(m.length)] ^= (byte) (1 + r.nextInt(255));
            if (i % 8 == 2 && m.length > 0) m[0] = (byte) (1 + r.nextInt(4));
            b.fromUdp(m, data.from());
        }
        assertThat(b.device.totalDrops()).isGreaterThanOrEqualTo(20_000 - 10);
        byte[] pkt = MemoryNet.ipv4("10.200.0.1", "10.200.0.2", 10);
        a.fromTun(pkt);
        net.pump();
        assertThat(b.tunOut.get(b.tunOut.size() - 1)).isEqualTo(pkt);
    }
}
