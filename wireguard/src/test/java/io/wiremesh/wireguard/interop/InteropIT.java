package io.wiremesh.wireguard.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.interop.Lab.Impl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Java interface against Debian's wireguard-go (and against itself), each in its own
 * namespace, configured only with the unmodified {@code wg} tool.
 */
class InteropIT extends LabTest {
    private static final Pattern WIREGUARD_UDP = Pattern.compile(
            "^\\S+ IP6? 10\\.201\\.0\\.\\d+\\.(51820|51821) > 10\\.201\\.0\\.\\d+\\.(51820|51821): UDP, length \\d+$");
    private static final int SIZE = 8 << 20;



    private static void assertOnlyWireGuard(List<String> lines, byte[] pcap) {
        assertThat(lines).isNotEmpty();
        assertThat(lines).allSatisfy(l -> assertThat(l).matches(WIREGUARD_UDP));
        assertThat(indexOf(pcap, Tunnel.MARKER)).as("plaintext marker on the underlay").isEqualTo(-1);
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void javaAndWireguardGoPingAndTransferBothWaysWithOnlyUdpOnTheUnderlay() throws Exception {
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO, null);
        try (Capture cap = new Capture(lab, t.nsA, t.linkA)) {
            assertThat(t.ping(t.nsA, "10.202.0.2", 3)).contains("3 received");
            assertThat(t.ping(t.nsB, "10.202.0.1", 3)).contains("3 received");
            assertThat(t.ping(t.nsA, "fd02::2", 2)).contains("2 received");
            String[] ab = t.transfer(t.nsA, t.nsB, "10.202.0.2", SIZE, 5001);
            assertThat(ab[1]).isEqualTo(ab[0]);
            String[] ba = t.transfer(t.nsB, t.nsA, "10.202.0.1", SIZE, 5002);
            assertThat(ba[1]).isEqualTo(ba[0]);
            assertOnlyWireGuard(cap.stop(), cap.bytes());
        }
        String dump = t.dump(t.nsA, t.ifA);
        String peerLine = dump.lines().skip(1).findFirst().orElseThrow();
        String[] f = peerLine.split("\t");
        assertThat(Long.parseLong(f[4])).as("latest handshake").isPositive();
        assertThat(Long.parseLong(f[5])).as("rx bytes").isGreaterThan(SIZE);
        assertThat(Long.parseLong(f[6])).as("tx bytes").isGreaterThan(SIZE);
    }

    /**
     * The current wireguard-go uses TCP segmentation/coalescing on its TUN and UDP segmentation itself;
     * so does the Java side: checksummed transfers both ways, large enough for 64 KiB superpackets.
     */
    @Test
    void javaAndCurrentWireguardGoBothWithOffloads() throws Exception {
        Lab.assumeCurrentWireguardGo();
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO_CURRENT, null);
        try (Capture cap = new Capture(lab, t.nsA, t.linkA)) {
            assertThat(t.ping(t.nsA, "10.202.0.2", 3)).contains("3 received");
            assertThat(t.ping(t.nsB, "fd02::1", 2)).contains("2 received");
            String[] ab = t.transfer(t.nsA, t.nsB, "10.202.0.2", SIZE, 5007);
            assertThat(ab[1]).isEqualTo(ab[0]);
            String[] ba = t.transfer(t.nsB, t.nsA, "10.202.0.1", SIZE, 5008);
            assertThat(ba[1]).isEqualTo(ba[0]);
            String[] v6 = t.transfer(t.nsA, t.nsB, "fd02::2", SIZE, 5009);
            assertThat(v6[1]).isEqualTo(v6[0]);
            assertOnlyWireGuard(cap.stop(), cap.bytes());
        }
    }

    @Test
    void presharedKeyOnBothSides() throws Exception {
        Path psk = lab.dir.resolve("psk");
        Files.writeString(psk, Lab.sh("wg", "genpsk"));
        Tunnel t = new Tunnel(lab, Impl.GO, Impl.JAVA, psk.toString());
        assertThat(t.ping(t.nsA, "10.202.0.2", 3)).contains("3 received");
        String[] ab = t.transfer(t.nsB, t.nsA, "10.202.0.1", SIZE, 5003);
        assertThat(ab[1]).isEqualTo(ab[0]);
    }

    @Test
    void mismatchedPresharedKeyCarriesNothing() throws Exception {
        Path psk = lab.dir.resolve("psk");
        Files.writeString(psk, Lab.sh("wg", "genpsk"));
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO, null);
        lab.in(t.nsA, "wg", "set", t.ifA, "peer", t.keyB[1], "preshared-key", psk.toString());
        assertThat(lab.in(t.nsA, "sh", "-c", "ping -c 2 -W 1 10.202.0.2 || true")).contains("0 received");
    }

    @Test
    void javaToJava() throws Exception {
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.JAVA, null);
        try (Capture cap = new Capture(lab, t.nsB, t.linkB)) {
            assertThat(t.ping(t.nsA, "10.202.0.2", 3)).contains("3 received");
            assertThat(t.ping(t.nsB, "fd02::1", 3)).contains("3 received");
            String[] ab = t.transfer(t.nsA, t.nsB, "10.202.0.2", SIZE, 5004);
            assertThat(ab[1]).isEqualTo(ab[0]);
            String[] ba = t.transfer(t.nsB, t.nsA, "10.202.0.1", SIZE, 5005);
            assertThat(ba[1]).isEqualTo(ba[0]);
            assertOnlyWireGuard(cap.stop(), cap.bytes());
        }
    }

    @Test
    void javaSideRoamsToANewUnderlayAddressMidTransfer() throws Exception {
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO, null);
        assertThat(t.ping(t.nsA, "10.202.0.2", 2)).contains("2 received");
        Path src = lab.dir.resolve("roam-src");
        Path dst = lab.dir.resolve("roam-dst");
        Tunnel.writePayload(src, 24 << 20);
        Process server = lab.spawnIn(t.nsB, "roam-server.log", "socat", "-u", "TCP-LISTEN:5006,reuseaddr", "OPEN:" + dst + ",creat,trunc");
        t.waitListening(t.nsB, 5006);
        // Slow the underlay down (inside the lab's namespace) so the move happens mid-transfer.
        lab.in(t.nsA, "tc", "qdisc", "add", "dev", t.linkA, "root", "tbf", "rate", "40mbit", "burst", "32kbit", "latency", "400ms");
        Process client = lab.spawnIn(t.nsA, "roam-client.log", "socat", "-u", "OPEN:" + src, "TCP:10.202.0.2:5006");
        Thread.sleep(1500);
        // Keep the new (secondary) address when the old primary goes away.
        lab.in(t.nsA, "sysctl", "-qw", "net.ipv4.conf." + t.linkA + ".promote_secondaries=1");
        lab.in(t.nsA, "ip", "addr", "add", "10.201.0.77/24", "dev", t.linkA);
        lab.in(t.nsA, "ip", "addr", "del", "10.201.0.1/24", "dev", t.linkA);
        assertThat(client.waitFor(90, TimeUnit.SECONDS)).isTrue();
        assertThat(server.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(Tunnel.sha256(dst)).isEqualTo(Tunnel.sha256(src));
        // wireguard-go followed the Java side to its new address.
        assertThat(t.dump(t.nsB, t.ifB)).contains("10.201.0.77:" + Tunnel.PORT_A);
        assertThat(t.ping(t.nsB, "10.202.0.1", 2)).contains("2 received");
    }
}
