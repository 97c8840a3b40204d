package io.wiremesh.node.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** wiremesh's part of the configuration list and what service meshes chain onto it. */
class NetworkConfigListTest {
    private static final NetworkConfigList OURS = new NetworkConfigList("1.0.0", "wiremesh", List.of(
            Map.of("type", "wiremesh", "socket", "/var/run/wiremesh/cni.sock", "mtu", 1420),
            Map.of("type", "portmap", "capabilities", Map.of("portMappings", true), "snat", true)));
    /** As linkerd-cni's installer appends itself (its entry shape, abridged). */
    private static final Map<String, Object> LINKERD = Map.of("name", "linkerd-cni", "type", "linkerd-cni", "log_level", "info",
            "kubernetes", Map.of("kubeconfig", "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"));

    private static byte[] json(Object o) throws Exception {
        return JSON.std.asBytes(o);
    }

    @Test
    void aListAsWrittenHoldsItsOwnPart() {
        assertThat(OURS.holds(OURS.render(NetworkConfigList.Chained.NONE))).isTrue();
        assertThat(NetworkConfigList.chainedIn(OURS.render(NetworkConfigList.Chained.NONE)).isEmpty()).isTrue();
    }

    @Test
    void anAppendedPluginIsNoReasonToRewriteAndIsKeptByOne() throws Exception {
        Map<String, Object> written = JSON.std.mapFrom(OURS.render(NetworkConfigList.Chained.NONE));
        @SuppressWarnings("unchecked") List<Object> plugins = (List<Object>) written.get("plugins");
        plugins.add(LINKERD);
        written.put("disableCheck", false); // a top-level key someone else added
        byte[] chainedOn = json(written); // compact, reordered keys: only values count
        assertThat(OURS.holds(chainedOn)).isTrue();

        NetworkConfigList.Chained chained = NetworkConfigList.chainedIn(chainedOn);
        assertThat(chained.plugins()).containsExactly(LINKERD);
        assertThat(chained.keys()).containsExactly(Map.entry("disableCheck", false));
        NetworkConfigList upgraded = new NetworkConfigList("1.0.0", "wiremesh", List.of(Map.of("type", "wiremesh", "socket", "/run/other.sock", "mtu", 1380)));
        Map<String, Object> rewritten = JSON.std.mapFrom(upgraded.render(chained));
        assertThat(((List<?>) rewritten.get("plugins")).stream().<Object>map(p -> ((Map<?, ?>) p).get("type")).toList()).containsExactly("wiremesh", "linkerd-cni");
        assertThat(rewritten).containsEntry("disableCheck", false).containsEntry("cniVersion", "1.0.0");
        assertThat(upgraded.holds(upgraded.render(chained))).isTrue();
    }

    @Test
    void aChangedRemovedOrDisplacedOwnEntryIsAChange() throws Exception {
        Map<String, Object> entry = Map.of("type", "wiremesh", "socket", "/var/run/wiremesh/cni.sock", "mtu", 1420);
        Map<String, Object> portmap = Map.of("type", "portmap", "capabilities", Map.of("portMappings", true), "snat", true);
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "wiremesh", "plugins", List.of(entry, portmap))))).isTrue();
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "wiremesh",
                "plugins", List.of(Map.of("type", "wiremesh", "socket", "/var/run/wiremesh/cni.sock", "mtu", 9000), portmap))))).as("mtu").isFalse();
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "wiremesh", "plugins", List.of(entry))))).as("portmap gone").isFalse();
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "wiremesh", "plugins", List.of(LINKERD, entry, portmap)))))
                .as("something before the main plugin: the runtime would run it as the interface plugin").isFalse();
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "wiremesh", "plugins", List.of(entry, portmap, entry))))).as("ours twice").isFalse();
        assertThat(OURS.holds(json(Map.of("cniVersion", "0.4.0", "name", "wiremesh", "plugins", List.of(entry, portmap))))).as("version").isFalse();
        assertThat(OURS.holds(json(Map.of("cniVersion", "1.0.0", "name", "someone-else", "plugins", List.of(entry, portmap))))).isFalse();
        assertThat(OURS.holds("not json".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(OURS.holds("[1]".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void nothingCanBeToldFromWhatIsNotAList() throws Exception {
        assertThat(NetworkConfigList.chainedIn("{broken".getBytes(StandardCharsets.UTF_8))).isNull();
        NetworkConfigList.Chained fromAStrangerList = NetworkConfigList.chainedIn(json(Map.of("cniVersion", "1.0.0", "name", "x",
                "plugins", List.of(Map.of("type", "wiremesh"), LINKERD, Map.of("type", "portmap"), "not an entry"))));
        assertThat(fromAStrangerList.plugins()).as("entries of our types are never taken from someone else").containsExactly(LINKERD, "not an entry");
    }
}
