package io.wiremesh.node.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.wireguard.linux.UnixSocketServer;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's side of the plugin contract on its socket, for requests that need no pod wiring: the
 * requests are the bytes plugins have always sent, the replies are pinned to the bytes the daemon has
 * always written, so installed plugins of any age keep working.
 */
class CniServerTest {
    private static final String CONFIG = "{\"cniVersion\":\"1.1.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\"";

    @TempDir
    Path dir;
    private CniServer server;

    @BeforeEach
    void start() throws IOException {
        server = CniServer.start(null, dir.resolve("cni.sock")); // none of these requests reaches the pod network
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String exchange(String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(server.path()))) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            c.shutdownOutput();
            return new String(Channels.newInputStream(c).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void statusIsOk() throws IOException {
        assertThat(exchange("{\"command\":\"STATUS\",\"config\":" + CONFIG + "}}\n")).isEqualTo("{\"ok\":true}");
    }

    @Test
    void failuresCarryTheSpecCodeMessageAndDetails() throws IOException {
        assertThat(exchange("{\"command\":\"FROB\",\"containerId\":\"c1\",\"ifName\":\"eth0\",\"config\":" + CONFIG + "}}\n"))
                .isEqualTo("{\"ok\":false,\"code\":4,\"msg\":\"unknown command FROB\"}");
        assertThat(exchange("{\"command\":\"GC\",\"config\":" + CONFIG + ",\"cni.dev/attachments\":7}}\n"))
                .isEqualTo("{\"ok\":false,\"code\":7,\"msg\":\"GC: cni.dev/attachments is not a list\","
                        + "\"details\":\"send a list of {containerID, ifname} objects; nothing was released\"}");
    }

    @Test
    void aRequestTheDaemonCannotReadIsAnIoFailureThatSaysWhy() throws IOException {
        assertThat(exchange("garbage{")).startsWith("{\"ok\":false,\"code\":5,\"msg\":\"node-daemon error: ");
        assertThat(exchange("{\"command\":\"ADD\"}")).startsWith("{\"ok\":false,\"code\":5,\"msg\":\"node-daemon error: ")
                .contains("without a 'config' object");
    }

    @Test
    void aRemovedOrReplacedSocketFileIsServedAgain() throws IOException {
        assertThat(server.rebindIfUnreachable()).as("nothing to do while the file is ours").isFalse();
        Files.delete(server.path());
        assertThat(server.reachable()).isFalse();
        assertThat(server.rebindIfUnreachable()).isTrue();
        assertThat(exchange("{\"command\":\"STATUS\",\"config\":" + CONFIG + "}}\n")).isEqualTo("{\"ok\":true}");

        Files.delete(server.path());
        Files.writeString(server.path(), "not a socket");
        assertThat(server.rebindIfUnreachable()).isTrue();
        assertThat(exchange("{\"command\":\"STATUS\",\"config\":" + CONFIG + "}}\n")).isEqualTo("{\"ok\":true}");
        assertThat(Files.getPosixFilePermissions(server.path())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void aPathAnotherLiveServerTookIsLeftToIt() throws IOException {
        Files.delete(server.path());
        try (UnixSocketServer other = UnixSocketServer.start(server.path(), "rw-------", "other", false, c -> {
            Channels.newInputStream(c).readAllBytes();
            c.write(ByteBuffer.wrap("other".getBytes(StandardCharsets.UTF_8)));
        })) {
            assertThatThrownBy(server::rebindIfUnreachable).isInstanceOf(IOException.class).hasMessageContaining("in use by another process");
            assertThat(exchange("{}")).isEqualTo("other");
            server.close();
            assertThat(other.reachable()).as("closing the displaced server leaves the other's file").isTrue();
        }
    }
}
