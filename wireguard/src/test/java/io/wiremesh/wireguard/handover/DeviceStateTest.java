package io.wiremesh.wireguard.handover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.wireguard.routing.Prefix;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The handover state's text form: everything survives a round trip; a newer release's keys are skipped; another version is refused. */
class DeviceStateTest {
    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed + i);
        return b;
    }

    private static DeviceState sample() throws Exception {
        long[] ring = new long[128];
        ring[0] = -1L;
        ring[127] = 0x0123456789abcdefL;
        var session = new DeviceState.KeypairState(DeviceState.Slot.CURRENT, true, 0x7fff0001, -5, 42_000_000_000L,
                Long.parseUnsignedLong("18446744073709543423"), bytes(32, 1), bytes(32, 2), 4097, ring);
        var next = new DeviceState.KeypairState(DeviceState.Slot.NEXT, false, 9, 10, 1, 0, bytes(32, 3), bytes(32, 4), 0, new long[128]);
        var peer = new DeviceState.PeerState(bytes(32, 5), bytes(32, 6), new InetSocketAddress(InetAddress.getByName("fd00::1"), 51820),
                InetAddress.getByName("10.1.2.3"), 25, List.of(Prefix.parse("10.44.1.0/24"), Prefix.parse("fd44::/64")), 123, 456,
                1_765_000_000_123_456_789L, bytes(12, 7), Map.of("RETRANSMIT_HANDSHAKE", 4_000_000_000L, "ZERO_KEY_MATERIAL", -3L), 2, true, false,
                List.of(session, next));
        var bare = new DeviceState.PeerState(bytes(32, 8), new byte[32], null, null, 0, List.of(), 0, 0, 0, new byte[12], Map.of(), 0, false, false, List.of());
        return new DeviceState(bytes(32, 9), 51820, 0x1e7, true, true, false, List.of(peer, bare));
    }

    @Test
    void everythingSurvivesARoundTrip() throws Exception {
        DeviceState s = sample();
        DeviceState back = DeviceState.decode(s.encode());
        assertThat(back.encode()).isEqualTo(s.encode());
        assertThat(back.privateKey()).isEqualTo(s.privateKey());
        assertThat(back.listenPort()).isEqualTo(51820);
        assertThat(back.fwmark()).isEqualTo(0x1e7);
        assertThat(back.tunOffload()).isTrue();
        assertThat(back.udpGro()).isFalse();
        var p = back.peers().get(0);
        assertThat(p.endpoint()).isEqualTo(new InetSocketAddress(InetAddress.getByName("fd00::1"), 51820));
        assertThat(p.endpointSource()).isEqualTo(InetAddress.getByName("10.1.2.3"));
        assertThat(p.allowedIps()).containsExactly(Prefix.parse("10.44.1.0/24"), Prefix.parse("fd44::/64"));
        assertThat(p.timers()).containsEntry("ZERO_KEY_MATERIAL", -3L).containsEntry("RETRANSMIT_HANDSHAKE", 4_000_000_000L);
        var k = p.keypairs().get(0);
        assertThat(k.sendNonce()).as("unsigned counters near the limit").isEqualTo(Long.parseUnsignedLong("18446744073709543423"));
        assertThat(k.remoteIndex()).isEqualTo(-5);
        assertThat(k.replayRing()).isEqualTo(s.peers().get(0).keypairs().get(0).replayRing());
        assertThat(k.sendKey()).isEqualTo(bytes(32, 1));
        assertThat(back.peers().get(1).endpoint()).isNull();
        assertThat(back.peers().get(1).keypairs()).isEmpty();
    }

    @Test
    void keysOfANewerReleaseAreSkipped() throws Exception {
        String text = sample().encode().replace("fwmark=", "datapath_flavour=fast\nfwmark=")
                .replace("rx_bytes=123", "rx_bytes=123\npath_mtu=1380");
        assertThat(DeviceState.decode(text).encode()).isEqualTo(sample().encode());
    }

    @Test
    void anotherVersionOrAMalformedLineIsRefused() throws Exception {
        assertThatThrownBy(() -> DeviceState.decode(sample().encode().replace("wiremesh-handover=1", "wiremesh-handover=2")))
                .hasMessageContaining("not a version 1");
        assertThatThrownBy(() -> DeviceState.decode("wiremesh-handover=1\nlisten_port=x\n")).hasMessageContaining("listen_port=x");
        assertThatThrownBy(() -> DeviceState.decode("")).hasMessageContaining("empty");
    }
}
