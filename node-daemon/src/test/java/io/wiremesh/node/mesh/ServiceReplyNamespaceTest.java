package io.wiremesh.node.mesh;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.egress.Conntrack;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.egress.Nft;
import io.wiremesh.node.netlink.NetNs;
import io.wiremesh.node.netlink.Netlink;
import io.wiremesh.testing.Commands;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A peer node reaching a NodePort of this node whose endpoint is a local pod, on a real kernel in
 * namespaces of the test's own: the node's egress (policy routes + nftables table, as the node-daemon
 * applies them) beside kube-proxy-style DNAT and masquerade rules. The pod's reply must go back on
 * the underlay with the node's address as source (as the request came), not into the tunnel, which
 * the policy rule for pod traffic to node addresses would otherwise choose (the request came in
 * clear, so the other node would never match the reply to its connection). The tunnel is a veth into
 * a namespace that drops everything: whatever is routed into it is lost, as a reply the other side
 * cannot use would be.
 */
class ServiceReplyNamespaceTest {
    private static final String POD = "wmt-svc-pod", NODE = "wmt-svc-node", OTHER = "wmt-svc-other", SINK = "wmt-svc-sink";
    private static final String TUNNEL = "wmtwg0";

    @BeforeEach
    void namespaces() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")), "needs nftables' nft (scripts/install-deps.sh)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/socat")), "needs socat (scripts/install-deps.sh)");
        for (String ns : List.of(POD, NODE, OTHER, SINK)) sh("ip", "netns", "add", ns);
        sh("ip", "-n", NODE, "link", "add", "wmtpod", "type", "veth", "peer", "name", "eth0", "netns", POD);
        sh("ip", "-n", NODE, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", OTHER);
        sh("ip", "-n", NODE, "link", "add", TUNNEL, "type", "veth", "peer", "name", "sink", "netns", SINK);
        sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv6.conf." + TUNNEL + ".disable_ipv6=1"); // no neighbour chatter in its counters
        sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        sh("ip", "-n", POD, "addr", "add", "10.42.1.2/32", "dev", "eth0");
        sh("ip", "-n", NODE, "addr", "add", "198.18.6.1/24", "dev", "eth0");
        sh("ip", "-n", NODE, "addr", "add", "10.42.1.1/32", "dev", TUNNEL);
        sh("ip", "-n", OTHER, "addr", "add", "198.18.6.2/24", "dev", "eth0");
        for (String[] l : new String[][] {{POD, "eth0"}, {POD, "lo"}, {NODE, "eth0"}, {NODE, "wmtpod"}, {NODE, TUNNEL}, {OTHER, "eth0"}, {SINK, "sink"}}) {
            sh("ip", "-n", l[0], "link", "set", l[1], "up");
        }
        sh("ip", "-n", POD, "route", "add", "default", "dev", "eth0");
        sh("ip", "-n", NODE, "route", "add", "10.42.1.2/32", "dev", "wmtpod");
        sh("ip", "-n", NODE, "route", "add", "10.42.2.0/24", "dev", TUNNEL); // the other node's block: through the tunnel
        sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.conf.wmtpod.proxy_arp=1");
        // What kube-proxy (iptables mode) does for a NodePort whose endpoint is this node's pod: DNAT, then masquerade.
        sh("ip", "netns", "exec", NODE, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "30080",
                "-j", "DNAT", "--to-destination", "10.42.1.2:8080");
        sh("ip", "netns", "exec", NODE, "iptables", "-t", "nat", "-A", "POSTROUTING", "-d", "10.42.1.2", "-p", "tcp", "--dport", "8080",
                "-j", "MASQUERADE");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (String ns : List.of(POD, NODE, OTHER, SINK)) new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
    }

    @Test
    void aPeerNodeReachesANodePortWhoseEndpointIsALocalPod() throws Exception {
        Process server = new ProcessBuilder("ip", "netns", "exec", POD, "socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo pod-answered")
                .redirectErrorStream(true).start();
        try {
            // This node's egress, with the other node (198.18.6.2) a peer reached through the tunnel.
            EgressPlan plan = new EgressPlan(true, List.of(Cidr.parse("10.42.0.0/16")),
                    List.of(Cidr.parse("10.42.0.0/16"), Cidr.parse("198.18.6.1/32"), Cidr.parse("198.18.6.2/32")),
                    List.of(Cidr.parse("10.42.0.0/16")), List.of(Cidr.parse("198.18.6.2/32")), List.of());
            sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.conf.eth0.rp_filter=1"); // as earlier versions left it
            NetNs.run(Path.of("/run/netns/" + NODE), () -> {
                new MeshRouting(Netlink.open(), TUNNEL, Path.of("/proc/sys/net")).looseReversePathOn("198.18.6.1");
                new NodeEgress(new NodeAddressRouting(Netlink.open(), TUNNEL), new Nft(List.of("/usr/sbin/nft")),
                        new Conntrack(List.of("/usr/sbin/conntrack")), TUNNEL).apply(plan);
                return null;
            });
            assertThat(sh("ip", "-n", NODE, "rule", "show")).contains("5179:\tfrom all fwmark 0x100000/0x100000 lookup main proto 87",
                    "5180:\tfrom 10.42.0.0/16 lookup 51820 proto 87");
            // The pod's own traffic to the other node's address still goes only into the tunnel; so does a remote
            // pod's request that a NodePort here forwards to the other node's host network (it arrives from the tunnel).
            assertThat(sh("ip", "-n", NODE, "route", "get", "198.18.6.2", "from", "10.42.1.2", "iif", "wmtpod")).contains("dev " + TUNNEL);
            assertThat(sh("ip", "-n", NODE, "route", "get", "198.18.6.2", "from", "10.42.2.7", "iif", TUNNEL)).contains("dev " + TUNNEL);

            Commands.Result r = null;
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while ((r == null || !r.out().contains("pod-answered")) && System.nanoTime() < deadline) {
                if (r != null) Thread.sleep(500);
                r = Commands.run(List.of("ip", "netns", "exec", OTHER, "socat", "-T", "3", "-", "TCP:198.18.6.1:30080,connect-timeout=3"), null, "");
            }
            assertThat(r.out()).as("the other node's request to the NodePort is answered").contains("pod-answered");
            assertThat(sh("ip", "netns", "exec", NODE, "conntrack", "-L", "-p", "tcp", "--dport", "30080"))
                    .contains("src=198.18.6.2 dst=198.18.6.1").contains("src=10.42.1.2");
            assertThat(sh("ip", "-s", "-n", NODE, "link", "show", TUNNEL)).as("nothing of it went into the tunnel")
                    .containsPattern("TX:[^\\n]*\\n\\s+0\\s+0\\s");

            // A pod source is still accepted only from where its route leads: forged on the underlay, it is dropped.
            sh("ip", "netns", "exec", POD, "iptables", "-A", "INPUT", "-s", "10.42.2.9", "-p", "icmp");
            sh("ip", "-n", OTHER, "addr", "add", "10.42.2.9/32", "dev", "eth0");
            sh("ip", "-n", OTHER, "route", "add", "10.42.1.2/32", "via", "198.18.6.1");
            Commands.run(List.of("ip", "netns", "exec", OTHER, "ping", "-c", "2", "-W", "1", "-I", "10.42.2.9", "10.42.1.2"), null, null);
            assertThat(sh("ip", "netns", "exec", POD, "iptables", "-L", "INPUT", "-v", "-n", "-x"))
                    .as("the forged packets never reached the pod").containsPattern("\\n\\s+0\\s+0\\s+1\\s");
        } finally {
            server.destroyForcibly();
        }
    }
}
