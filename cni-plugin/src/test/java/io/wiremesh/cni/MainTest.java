package io.wiremesh.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.testing.Liveness;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plugin's own checks, before anything reaches the daemon: spec-shaped errors with the right codes. */
class MainTest {
    @TempDir
    Path dir;

    private record Run(int exit, Map<String, Object> out) {}

    private static Run run(Map<String, String> env, String stdin) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = Main.run(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(rc, JSON.std.mapFrom(out.toByteArray()));
    }

    private static Map<String, String> env(String command) {
        Map<String, String> e = new HashMap<>();
        e.put("CNI_COMMAND", command);
        e.put("CNI_CONTAINERID", "c1");
        e.put("CNI_NETNS", "/proc/self/ns/net");
        e.put("CNI_IFNAME", "eth0");
        return e;
    }

    private static final String CONF = "{\"cniVersion\":\"1.1.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"socket\":\"/nonexistent/cni.sock\"}";

    @Test
    @SuppressWarnings("unchecked")
    void versionListsTheSupportedVersions() throws Exception {
        Run r = run(Map.of("CNI_COMMAND", "VERSION"), "");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).containsEntry("cniVersion", "1.1.0");
        assertThat((java.util.List<Object>) r.out().get("supportedVersions")).contains("0.3.1", "0.4.0", "1.0.0", "1.1.0");
    }

    @Test
    void badInputGetsTheRightErrorCode() throws Exception {
        assertThat(run(Map.of(), CONF).out()).containsEntry("code", 4);
        assertThat(run(env("ADD"), "garbage{").out()).containsEntry("code", 6);
        assertThat(run(env("ADD"), "{\"cniVersion\":\"1.1.0\",\"na").out()).containsEntry("code", 6);
        assertThat(run(env("ADD"), "").out()).containsEntry("code", 6);
        assertThat(run(env("ADD"), CONF.replace("1.1.0", "9.9.9")).out()).containsEntry("code", 1);
        assertThat(run(env("ADD"), "{\"cniVersion\":\"1.0.0\"}").out()).containsEntry("code", 7);
        Map<String, String> noId = env("ADD");
        noId.remove("CNI_CONTAINERID");
        Run r = run(noId, CONF);
        assertThat(r.exit()).isNotZero();
        assertThat(r.out()).containsEntry("code", 4).containsEntry("cniVersion", "1.1.0");
        assertThat((String) r.out().get("msg")).contains("CNI_CONTAINERID");
        Map<String, String> badNs = env("ADD");
        badNs.put("CNI_NETNS", "/var/run/netns/does-not-exist");
        assertThat(run(badNs, CONF).out()).containsEntry("code", 4);
        assertThat(run(env("FROB"), CONF).out()).containsEntry("code", 4);
        assertThat(run(env("STATUS"), CONF.replace("1.1.0", "1.0.0")).out()).containsEntry("code", 1);
    }

    @Test
    void aMissingDaemonIsTryAgainLaterOrNotAvailable() throws Exception {
        Run add = run(env("ADD"), CONF);
        assertThat(add.exit()).isNotZero();
        assertThat(add.out()).containsEntry("code", 11);
        assertThat((String) add.out().get("msg")).contains("node-daemon is not running");
        assertThat(run(Map.of("CNI_COMMAND", "STATUS"), CONF).out()).containsEntry("code", 50);
    }

    /** A daemon that answers one connection with {@code reply}; completes with the request's bytes as text. */
    private static CompletableFuture<String> fakeDaemon(Path socket, String reply) throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return CompletableFuture.supplyAsync(() -> {
            try (server; SocketChannel c = server.accept()) {
                String request = new String(Channels.newInputStream(c).readAllBytes(), StandardCharsets.UTF_8);
                c.write(ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)));
                return request;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static Run runAgainst(Path socket, String command, String reply, CompletableFuture<String>[] request) throws Exception {
        request[0] = fakeDaemon(socket, reply);
        String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"socket\":\"" + socket + "\"}";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = Main.run(env(command), new ByteArrayInputStream(conf.getBytes(StandardCharsets.UTF_8)), new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(rc, out.size() == 0 ? Map.of() : JSON.std.mapFrom(out.toByteArray()));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theDaemonGetsTheRequestAsAlwaysAndItsResultIsPrinted() throws Exception {
        Path socket = dir.resolve("cni.sock");
        CompletableFuture<String>[] request = new CompletableFuture[1];
        Run r = runAgainst(socket, "ADD", "{\"ok\":true,\"result\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.42.7.2/32\"}]}}", request);
        // Byte for byte what the plugin sent before the contract had one definition: daemons of that age read it.
        assertThat(request[0].get(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isEqualTo("{\"command\":\"ADD\",\"containerId\":\"c1\",\"netns\":\"/proc/self/ns/net\","
                + "\"ifName\":\"eth0\",\"config\":{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"socket\":\"" + socket + "\"}}\n");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).containsEntry("cniVersion", "1.0.0");
        assertThat((java.util.List<Object>) r.out().get("ips")).hasSize(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aDaemonFailureIsPrintedAsTheSpecErrorWithItsCode() throws Exception {
        CompletableFuture<String>[] request = new CompletableFuture[1];
        Run r = runAgainst(dir.resolve("cni.sock"), "DEL", "{\"ok\":false,\"code\":3,\"msg\":\"gone\",\"details\":\"nothing to clean\"}", request);
        request[0].get(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.exit()).isNotZero();
        assertThat(r.out()).containsExactlyInAnyOrderEntriesOf(Map.of("cniVersion", "1.0.0", "code", 3, "msg", "gone", "details", "nothing to clean"));
    }
}
