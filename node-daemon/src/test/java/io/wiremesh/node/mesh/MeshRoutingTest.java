package io.wiremesh.node.mesh;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.netlink.NetNs;
import io.wiremesh.node.netlink.Netlink;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Routes through the tunnel on a real (veth) interface in a namespace of the test's own. */
class MeshRoutingTest {
    private static final String NS = "wmt-meshroute";

    @BeforeEach
    void namespace() throws Exception {
        sh("ip", "netns", "add", NS);
        sh("ip", "-n", NS, "link", "add", "wmt0", "type", "veth", "peer", "name", "wmt1");
        sh("ip", "-n", NS, "link", "set", "wmt0", "up");
    }

    @AfterEach
    void cleanUp() throws Exception {
        new ProcessBuilder("ip", "netns", "del", NS).start().waitFor();
    }

    @Test
    void routesExactlyTheGivenBlocksAndRemovesTheRest() throws Exception {
        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            MeshRouting routing = new MeshRouting(Netlink.open(), "wmt0", Path.of("/proc/sys/net"));
            routing.setUp(List.of("10.99.0.1"), 1400, List.of(Cidr.parse("10.99.0.0/16")));
            routing.route(Set.of(Cidr.parse("10.99.1.0/24"), Cidr.parse("10.99.2.0/24")));
            assertThat(sh("ip", "-n", NS, "route", "show", "dev", "wmt0")).contains("10.99.1.0/24", "10.99.2.0/24");
            routing.route(Set.of(Cidr.parse("10.99.1.0/24")));
            assertThat(sh("ip", "-n", NS, "route", "show", "dev", "wmt0")).contains("10.99.1.0/24").doesNotContain("10.99.2.0/24");
            // A restarted daemon (new MeshRouting, same interface) still removes what it did not make itself.
            routing.route(Set.of(Cidr.parse("10.99.1.0/24"), Cidr.parse("10.99.3.0/24")));
            routing = new MeshRouting(Netlink.open(), "wmt0", Path.of("/proc/sys/net"));
            routing.setUp(List.of("10.99.0.1"), 1400, List.of(Cidr.parse("10.99.0.0/16")));
            routing.route(Set.of(Cidr.parse("10.99.1.0/24")));
            assertThat(sh("ip", "-n", NS, "route", "show", "dev", "wmt0")).contains("10.99.1.0/24").doesNotContain("10.99.3.0/24");
            routing.route(Set.of());
            assertThat(sh("ip", "-n", NS, "route", "show", "dev", "wmt0")).doesNotContain("10.99.1.0/24");
            // The fail-closed route for the pool stays: without the mesh, pod traffic goes nowhere rather than in plaintext.
            assertThat(sh("ip", "-n", NS, "route", "show", "type", "unreachable")).contains("10.99.0.0/16");
            return null;
        });
    }

    @Test
    void theNodesOwnTrafficIntoTheMeshLeavesWithItsNodeAddress() throws Exception {
        sh("ip", "-n", NS, "link", "set", "wmt1", "up");
        sh("ip", "-n", NS, "addr", "add", "198.18.8.11/24", "dev", "wmt1"); // the node's own address (its underlay)
        NetNs.run(Path.of("/run/netns/" + NS), () -> {
            // Routes from an earlier version, without a source: a restarted daemon writes them again with one.
            MeshRouting old = new MeshRouting(Netlink.open(), "wmt0", Path.of("/proc/sys/net"));
            old.setUp(List.of("10.99.0.1"), 1400, List.of(Cidr.parse("10.99.0.0/16")));
            old.route(Set.of(Cidr.parse("10.99.1.0/24")));
            assertThat(sh("ip", "-n", NS, "route", "show", "10.99.1.0/24")).doesNotContain("src");

            MeshRouting routing = new MeshRouting(Netlink.open(), "wmt0", Path.of("/proc/sys/net"));
            routing.preferSource(List.of("198.18.8.11"));
            routing.setUp(List.of("10.99.0.1"), 1400, List.of(Cidr.parse("10.99.0.0/16")));
            routing.route(Set.of(Cidr.parse("10.99.1.0/24"), Cidr.parse("10.99.2.0/24")));
            assertThat(sh("ip", "-n", NS, "route", "show", "dev", "wmt0")).contains("10.99.1.0/24 proto 87 scope link src 198.18.8.11",
                    "10.99.2.0/24 proto 87 scope link src 198.18.8.11");
            // The kernel's choice for a locally made packet (a host-network UDP server answering a remote pod).
            assertThat(sh("ip", "-n", NS, "route", "get", "10.99.2.7")).contains("dev wmt0 src 198.18.8.11");
            return null;
        });
    }
}
