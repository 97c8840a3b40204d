package io.wiremesh.node.wg;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import io.wiremesh.wireguard.linux.UnixSocketServer;
import io.wiremesh.wireguard.uapi.UapiKeys;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node-daemon's UAPI client writes and reads only keys of {@link UapiKeys}, the server's own definition. */
class UapiDeviceTest {
    @TempDir
    Path dir;
    /** Every request the fake datapath received, as its lines (without the closing empty line). */
    private final List<List<String>> requests = new CopyOnWriteArrayList<>();
    private volatile String getReply = "";
    private UnixSocketServer datapath;
    private UapiDevice device;

    @BeforeEach
    void start() throws IOException {
        datapath = UnixSocketServer.start(dir.resolve("wmtest0.sock"), "rwx------", "fake-uapi", false, c -> {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            for (String l = in.readLine(); l != null && !l.isEmpty(); l = in.readLine()) lines.add(l);
            requests.add(lines);
            String body = lines.getFirst().equals(UapiKeys.GET) ? getReply : "";
            c.write(ByteBuffer.wrap((body + "errno=0\n\n").getBytes(StandardCharsets.UTF_8)));
        });
        device = new UapiDevice(datapath.path());
    }

    @AfterEach
    void stop() {
        datapath.close();
    }

    private static Set<String> uapiKeys() {
        return Stream.of(UapiKeys.class.getFields()).map(UapiDeviceTest::read).collect(Collectors.toSet());
    }

    private static String read(Field f) {
        try {
            return (String) f.get(null);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String newKey() {
        return Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
    }

    private static String hex(String base64) {
        return HexFormat.of().formatHex(Keys.fromBase64(base64));
    }

    @Test
    void aPeersSetRequestUsesOnlyUapiKeys() throws IOException {
        String key = newKey(), psk = Keys.toBase64(Keys.random().generateSeed(32));
        device.upsertPeer(new WireGuardDevice.PeerConfig(key, "198.18.0.7:51820", List.of("10.42.1.0/24", "fd42::1:0/112"), 25, psk), null);
        device.removePeer(key);
        device.configure(X25519.generatePrivateKey(), 51820);
        assertThat(requests).hasSize(3);
        for (List<String> request : requests) {
            assertThat(request.getFirst()).isEqualTo(UapiKeys.SET);
            assertThat(uapiKeys()).containsAll(request.stream().skip(1).map(l -> l.substring(0, l.indexOf('='))).toList());
        }
        assertThat(requests.getFirst()).containsExactly("set=1", "public_key=" + hex(key), "endpoint=198.18.0.7:51820",
                "preshared_key=" + hex(psk), "persistent_keepalive_interval=25", "replace_allowed_ips=true",
                "allowed_ip=10.42.1.0/24", "allowed_ip=fd42::1:0/112");
        assertThat(requests.get(1)).containsExactly("set=1", "public_key=" + hex(key), "remove=true");
    }

    @Test
    void peersAreReadFromAGetReply() throws IOException {
        String a = newKey(), b = newKey(), psk = Keys.toBase64(Keys.random().generateSeed(32));
        getReply = "private_key=" + "11".repeat(32) + "\nlisten_port=51820\n"
                + "public_key=" + hex(a) + "\npreshared_key=" + "00".repeat(32) + "\nprotocol_version=1\nendpoint=198.18.0.7:51820\n"
                + "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\ntx_bytes=10\nrx_bytes=20\n"
                + "persistent_keepalive_interval=0\nallowed_ip=10.42.1.0/24\n"
                + "public_key=" + hex(b) + "\npreshared_key=" + hex(psk) + "\nprotocol_version=1\nlast_handshake_time_sec=0\ntx_bytes=0\nrx_bytes=0\n"
                + "persistent_keepalive_interval=25\n";
        assertThat(device.peers()).containsExactly(
                new WireGuardDevice.PeerState(a, "198.18.0.7:51820", List.of("10.42.1.0/24"), 1_700_000_000L, 20, 10),
                new WireGuardDevice.PeerState(b, null, List.of(), 0, 0, 0, 25, psk));
        assertThat(device.configured()).isTrue();
        assertThat(requests).allSatisfy(r -> assertThat(r).containsExactly(UapiKeys.GET));
    }
    /** A stand-in datapath that accepts and reads every request and never answers (a hung process). */
    @Test
    void aDatapathThatAcceptsAndNeverAnswersIsUnresponsiveNotAHang() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        UnixSocketServer hung = UnixSocketServer.start(dir.resolve("hung0.sock"), "rwx------", "hung-uapi", false, c -> {
            c.read(ByteBuffer.allocate(4096));
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            UapiDevice stuck = new UapiDevice(hung.path(), java.time.Duration.ofMillis(300));
            long t0 = System.nanoTime();
            org.assertj.core.api.Assertions.assertThatThrownBy(stuck::peers).isInstanceOf(DatapathUnresponsive.class)
                    .hasMessageContaining("did not answer").hasMessageContaining(hung.path().toString());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> stuck.configure(new byte[32], 51820)).as("held: fails without waiting again")
                    .isInstanceOf(DatapathUnresponsive.class).hasMessageContaining("did not answer");
            assertThat(stuck.configured()).as("a datapath that never answers is not configured").isFalse();
            assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0)).as("bounded: returns, however slowly the machine runs")
                    .isLessThan(java.time.Duration.ofMinutes(1));
            assertThat(DatapathUnresponsive.in(new IOException("peers", new DatapathUnresponsive("x")))).isTrue();
        } finally {
            release.countDown();
            hung.close();
        }
    }

    @Test
    void aDatapathThatDoesNotAcceptAtAllIsUnresponsiveToo() throws Exception {
        // A listening socket nobody accepts on: connections queue in its backlog, then are refused at once.
        Path path = dir.resolve("noaccept0.sock");
        try (java.nio.channels.ServerSocketChannel s = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            s.bind(java.net.UnixDomainSocketAddress.of(path), 1);
            List<String> verdicts = new ArrayList<>();
            for (int i = 0; i < 4; i++) { // a device each: no verdict held over from the one before
                UapiDevice stuck = new UapiDevice(path, java.time.Duration.ofMillis(300));
                org.assertj.core.api.Assertions.assertThatThrownBy(stuck::peers).isInstanceOf(DatapathUnresponsive.class)
                        .satisfies(e -> verdicts.add(e.getMessage()));
            }
            assertThat(verdicts).as("once the backlog is full, connecting is what runs out").anyMatch(m -> m.contains("does not accept"));
        }
    }

    @Test
    void aDatapathThatIsGoneIsDownNotUnresponsive() throws Exception {
        UapiDevice gone = new UapiDevice(dir.resolve("gone0.sock"), java.time.Duration.ofMillis(300));
        org.assertj.core.api.Assertions.assertThatThrownBy(gone::peers).isInstanceOf(IOException.class).isNotInstanceOf(DatapathUnresponsive.class);
        // A socket file nobody listens on (a killed process leaves it): refused, also down.
        Path stale = dir.resolve("stale0.sock");
        try (java.nio.channels.ServerSocketChannel s = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            s.bind(java.net.UnixDomainSocketAddress.of(stale));
        }
        UapiDevice dead = new UapiDevice(stale, java.time.Duration.ofMillis(300));
        org.assertj.core.api.Assertions.assertThatThrownBy(dead::peers).isInstanceOf(IOException.class).isNotInstanceOf(DatapathUnresponsive.class);
    }
}
