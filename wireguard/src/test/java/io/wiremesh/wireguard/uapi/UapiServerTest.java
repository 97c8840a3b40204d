package io.wiremesh.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.device.QueueTun;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.timers.Clock;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The UAPI socket protocol, byte for byte as wireguard-go speaks it (see TESTBED.md section 3). */
class UapiServerTest {
    @TempDir
    Path dir;
    private Device device;
    private UapiServer server;

    @BeforeEach
    void start() throws IOException {
        device = new Device(new QueueTun(), LinuxUdpBind::open, Clock.SYSTEM, new Device.Options(0, 16, false));
        server = UapiServer.start(new Uapi(device), dir, "wmtest0");
    }

    @AfterEach
    void stop() {
        server.close();
        device.close();
    }

    private String exchange(String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(server.path()))) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            c.shutdownOutput();
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (c.read(buf) >= 0) {
                // read to EOF
            }
            buf.flip();
            return StandardCharsets.UTF_8.decode(buf).toString();
        }
    }

    /**
     * A set waits while the device is held for a handover and is refused (EBUSY) once the device went to its
     * successor: nothing changes after the snapshot, and no packet is sent with a counter the successor uses too.
     */
    @Test
    void aSetWaitsForAHandoverAndIsRefusedOnceTheDeviceWasHandedOver() throws Exception {
        String set = "set=1\nlisten_port=0\nfwmark=7\n\n";
        assertThat(exchange(set)).isEqualTo("errno=0\n\n");
        assertThat(device.holdForConfiguration()).as("the handover's hold").isTrue();
        var pending = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return exchange("set=1\nfwmark=9\n\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(300);
        assertThat(pending).as("a set waits while the device is held").isNotDone();
        assertThat(device.fwmark()).isEqualTo(7);
        device.release(); // handed over: lets the waiting set go, which is refused
        assertThat(pending.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("errno=-16\n\n");
        assertThat(exchange(set)).isEqualTo("errno=-16\n\n");
    }

    @Test
    void socketIsOwnerOnly() throws IOException {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.path()))).isEqualTo("rwx------");
    }

    @Test
    void setThenGetReportsWhatWgExpects() throws IOException {
        byte[] priv = X25519.generatePrivateKey();
        byte[] peer = X25519.publicKey(X25519.generatePrivateKey());
        byte[] psk = Keys.random().generateSeed(32);
        String set = "set=1\n"
                + "private_key=" + Keys.toHex(priv) + "\n"
                + "listen_port=0\n"
                + "fwmark=4660\n"
                + "public_key=" + Keys.toHex(peer) + "\n"
                + "preshared_key=" + Keys.toHex(psk) + "\n"
                + "endpoint=[fd00::2]:51820\n"
                + "persistent_keepalive_interval=0\n"
                + "replace_allowed_ips=true\n"
                + "allowed_ip=10.200.0.2/32\n"
                + "allowed_ip=fd00:200::2/128\n\n";
        assertThat(exchange(set)).isEqualTo("errno=0\n\n");
        assertThat(exchange("get=1\n\n")).isEqualTo(
                "private_key=" + Keys.toHex(priv) + "\n"
                + "fwmark=4660\n"
                + "public_key=" + Keys.toHex(peer) + "\n"
                + "preshared_key=" + Keys.toHex(psk) + "\n"
                + "protocol_version=1\n"
                + "endpoint=[fd00::2]:51820\n"
                + "last_handshake_time_sec=0\n"
                + "last_handshake_time_nsec=0\n"
                + "tx_bytes=0\n"
                + "rx_bytes=0\n"
                + "persistent_keepalive_interval=0\n"
                + "allowed_ip=10.200.0.2/32\n"
                + "allowed_ip=fd00:200::2/128\n"
                + "errno=0\n\n");
    }

    @Test
    void badValuesAnswerEinvalAndUnknownOperationsCloseSilently() throws IOException {
        assertThat(exchange("set=1\nprivate_key=zz\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("set=1\nlisten_port=99999\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("set=1\nbogus=1\n\n")).isEqualTo("errno=-22\n\n");
        String pk = Keys.toHex(X25519.publicKey(X25519.generatePrivateKey()));
        assertThat(exchange("set=1\npublic_key=" + pk + "\nallowed_ip=10.0.0.1\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("set=1\npublic_key=" + pk + "\nendpoint=nohost\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("set=1\npublic_key=" + pk + "\nprotocol_version=2\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("set=1\npublic_key=" + pk + "\nlisten_port=1\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(exchange("foo=1\n\n")).isEmpty();
    }

    @Test
    void removeUpdateOnlyReplacePeersAndZeroKey() throws IOException {
        String a = Keys.toHex(X25519.publicKey(X25519.generatePrivateKey()));
        String b = Keys.toHex(X25519.publicKey(X25519.generatePrivateKey()));
        exchange("set=1\nprivate_key=" + Keys.toHex(X25519.generatePrivateKey()) + "\npublic_key=" + a + "\npublic_key=" + b + "\n\n");
        assertThat(device.peers()).hasSize(2);
        exchange("set=1\npublic_key=" + a + "\nremove=true\n\n");
        assertThat(device.peers()).hasSize(1);
        String c = Keys.toHex(X25519.publicKey(X25519.generatePrivateKey()));
        exchange("set=1\npublic_key=" + c + "\nupdate_only=true\nallowed_ip=10.1.0.0/16\n\n");
        assertThat(device.peers()).hasSize(1);
        exchange("set=1\nreplace_peers=true\npublic_key=" + c + "\n\n");
        assertThat(device.peers()).hasSize(1);
        assertThat(Keys.toHex(device.peers().get(0).publicKey())).isEqualTo(c);
        exchange("set=1\nprivate_key=" + "0".repeat(64) + "\n\n");
        assertThat(exchange("get=1\n\n")).doesNotContain("private_key=");
    }

    @Test
    void severalRequestsOnOneConnection() throws IOException {
        String reply = exchange("get=1\n\nget=1\n\n");
        assertThat(reply).isEqualTo("errno=0\n\nerrno=0\n\n");
    }
}
