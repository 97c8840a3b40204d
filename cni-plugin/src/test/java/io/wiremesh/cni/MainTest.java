package io.wiremesh.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The plugin's own checks, before anything reaches the daemon: spec-shaped errors with the right codes. */
class MainTest {
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
}
