package io.wiremesh.node.mesh;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.netlink.NetNs;
import io.wiremesh.node.netlink.Netlink;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Policy rules and the node-address table on a real kernel, in a namespace of the test's own. */
class NodeAddressRoutingTest {
    private static final String NS = "wmt-noderoute";

    @BeforeEach
    void namespace() throws Exception {
        sh("ip", "netns", "add", NS);
        sh("ip", "-n", NS, "link", "add", "wmt0", "type", "veth", "peer", "name", "wmt1");
        sh("ip", "-n", NS, "link", "set", "wmt0", "up");
        sh("ip", "-n", NS, "link", "set", "wmt1", "up");
        sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    }

    @AfterEach
    void cleanUp() throws Exception {
        new ProcessBuilder("ip", "netns", "del", NS).start().waitFor();
    }

    @Test
    void podSourcesReachOtherNodesThroughTheTunnelAndNothingElseChanges() throws Exception {
        String mainBefore = sh("ip", "-n", NS, "route", "show", "table", "main");
        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            NodeAddressRouting r = new NodeAddressRouting(Netlink.open(), "wmt0");
            r.apply(List.of(Cidr.parse("10.99.1.0/24"), Cidr.parse("fd99::1:0/112")),
                    List.of(Cidr.parse("198.18.7.12/32"), Cidr.parse("198.18.7.13/32"), Cidr.parse("fd18::12/128")));
            r.apply(List.of(Cidr.parse("10.99.1.0/24"), Cidr.parse("fd99::1:0/112")),
                    List.of(Cidr.parse("198.18.7.12/32"), Cidr.parse("198.18.7.13/32"), Cidr.parse("fd18::12/128")));
            return null;
        });
        assertThat(sh("ip", "-n", NS, "rule", "show")).contains("5180:\tfrom 10.99.1.0/24 lookup 51820 proto 87");
        assertThat(sh("ip", "-n", NS, "-6", "rule", "show")).contains("5180:\tfrom fd99::1:0/112 lookup 51820 proto 87");
        String table = sh("ip", "-n", NS, "route", "show", "table", "51820");
        assertThat(table).contains("198.18.7.12 dev wmt0 proto 87 scope link", "unreachable 198.18.7.12 proto 87 metric 4096",
                "198.18.7.13 dev wmt0");
        assertThat(sh("ip", "-n", NS, "-6", "route", "show", "table", "51820")).contains("fd18::12 dev wmt0", "unreachable fd18::12");
        // The kernel's own decision: a pod source goes into the tunnel, the node's own traffic does not.
        assertThat(sh("ip", "-n", NS, "route", "get", "198.18.7.12", "from", "10.99.1.5", "iif", "wmt1")).contains("dev wmt0");
        assertThat(sh("ip", "-n", NS, "route", "show", "table", "main")).isEqualTo(mainBefore);

        // A restarted daemon (new instance) converges: node 13 left, the v6 block went.
        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            new NodeAddressRouting(Netlink.open(), "wmt0").apply(List.of(Cidr.parse("10.99.1.0/24")), List.of(Cidr.parse("198.18.7.12/32")));
            return null;
        });
        assertThat(sh("ip", "-n", NS, "route", "show", "table", "51820")).contains("198.18.7.12").doesNotContain("198.18.7.13");
        assertThat(sh("ip", "-n", NS, "-6", "rule", "show")).doesNotContain("51820");
        assertThat(sh("ip", "-n", NS, "-6", "route", "show", "table", "51820")).isBlank();

        // Without the tunnel interface the addresses stay unreachable: never the main table, never in clear.
        sh("ip", "-n", NS, "link", "del", "wmt0");
        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            new NodeAddressRouting(Netlink.open(), "wmt0").apply(List.of(Cidr.parse("10.99.1.0/24")), List.of(Cidr.parse("198.18.7.12/32")));
            return null;
        });
        assertThat(sh("ip", "-n", NS, "route", "show", "table", "51820")).contains("unreachable 198.18.7.12");

        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            new NodeAddressRouting(Netlink.open(), "wmt0").remove();
            return null;
        });
        assertThat(sh("ip", "-n", NS, "rule", "show")).doesNotContain("51820");
        assertThat(sh("ip", "-n", NS, "route", "show", "table", "51820")).isBlank();
    }

}
