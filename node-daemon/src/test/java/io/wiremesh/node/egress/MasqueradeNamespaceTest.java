package io.wiremesh.node.egress;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The masquerade table on a real kernel, in namespaces of the test's own: a "pod" behind a "node"
 * that routes it to an "outside" host with no route back to pod addresses. Replies come back only
 * when the node masquerades; kube-proxy-style iptables-nft rules beside the table stay untouched.
 */
class MasqueradeNamespaceTest {
    private static final String POD = "wmt-nat-pod", NODE = "wmt-nat-node", OUT = "wmt-nat-out";

    @BeforeEach
    void namespaces() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nft")), "needs nftables' nft (scripts/install-deps.sh)");
        for (String ns : List.of(POD, NODE, OUT)) sh("ip", "netns", "add", ns);
        sh("ip", "-n", NODE, "link", "add", "wmtpod", "type", "veth", "peer", "name", "eth0", "netns", POD);
        sh("ip", "-n", NODE, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", OUT);
        sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        sh("ip", "-n", POD, "addr", "add", "10.42.1.2/32", "dev", "eth0");
        sh("ip", "-n", NODE, "addr", "add", "198.18.5.1/24", "dev", "eth0");
        sh("ip", "-n", OUT, "addr", "add", "198.18.5.2/24", "dev", "eth0");
        for (String[] l : new String[][] {{POD, "eth0"}, {NODE, "eth0"}, {NODE, "wmtpod"}, {OUT, "eth0"}, {POD, "lo"}}) {
            sh("ip", "-n", l[0], "link", "set", l[1], "up");
        }
        sh("ip", "-n", POD, "route", "add", "default", "dev", "eth0");
        sh("ip", "-n", NODE, "route", "add", "10.42.1.2/32", "dev", "wmtpod");
        sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.conf.wmtpod.proxy_arp=1");
        // What kube-proxy (iptables, nf_tables backend) keeps in the node's namespace.
        sh("ip", "netns", "exec", NODE, "iptables", "-t", "nat", "-N", "KUBE-POSTROUTING");
        sh("ip", "netns", "exec", NODE, "iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "KUBE-POSTROUTING");
        sh("ip", "netns", "exec", NODE, "iptables", "-t", "nat", "-A", "KUBE-POSTROUTING", "-m", "mark", "--mark", "0x4000/0x4000", "-j", "MASQUERADE");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (String ns : List.of(POD, NODE, OUT)) new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
    }

    @Test
    void podTrafficLeavesWithTheNodeAddressAndOnlyOurTableChanges() throws Exception {
        Nft nft = new Nft(List.of("ip", "netns", "exec", NODE, "/usr/sbin/nft"));
        String kubeProxyBefore = sh("ip", "netns", "exec", NODE, "iptables-save", "-t", "nat").replaceAll("(?m)^#.*$", "");
        assertThat(ping()).as("without masquerade the outside cannot answer a pod address").isFalse();

        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), List.of("198.18.5.1"));
        WireGuardMeshSpec spec = EgressPlanTest.mesh();
        String script = MasqueradeTable.script(EgressPlan.of(spec, a, List.of(a)), "wiremesh0");
        assertThat(nft.apply(script)).isTrue();
        assertThat(ping()).as("masqueraded to the node address").isTrue();
        assertThat(sh("ip", "netns", "exec", NODE, "conntrack", "-L", "-p", "icmp")).contains("src=10.42.1.2 dst=198.18.5.2")
                .contains("src=198.18.5.2 dst=198.18.5.1");

        // A node whose path changed: its flows from the pools are forgotten (and only those).
        Conntrack conntrack = new Conntrack(List.of("ip", "netns", "exec", NODE, "/usr/sbin/conntrack"));
        conntrack.forget(List.of(Cidr.parse("10.43.0.0/16")), Cidr.parse("198.18.5.2/32"));
        assertThat(sh("ip", "netns", "exec", NODE, "conntrack", "-L", "-p", "icmp")).as("another pool's flows stay").contains("src=10.42.1.2");
        conntrack.forget(List.of(Cidr.parse("10.42.0.0/16"), Cidr.parse("fd42::/48")), Cidr.parse("198.18.5.2/32"));
        assertThat(sh("ip", "netns", "exec", NODE, "conntrack", "-L", "-p", "icmp")).doesNotContain("src=10.42.1.2");
        conntrack.forget(List.of(Cidr.parse("10.42.0.0/16")), Cidr.parse("198.18.5.2/32")); // nothing left: not an error
        assertThat(Conntrack.mask(Cidr.parse("10.42.0.0/16"))).isEqualTo("255.255.0.0");

        // Unchanged content is not rewritten, by this instance or by a restarted daemon's.
        assertThat(nft.apply(script)).isFalse();
        assertThat(new Nft(List.of("ip", "netns", "exec", NODE, "/usr/sbin/nft")).apply(script)).isFalse();

        // A destination the user excludes keeps the pod's source (and so gets no answer here).
        spec.egress = new WireGuardMeshSpec.Egress();
        spec.egress.excludeCIDRs = List.of("198.18.5.0/24");
        sh("ip", "netns", "exec", NODE, "conntrack", "-F");
        assertThat(nft.apply(MasqueradeTable.script(EgressPlan.of(spec, a, List.of(a)), "wiremesh0"))).isTrue();
        assertThat(ping()).isFalse();

        // Masquerade off: no NAT chain any more (the table stays for its other chains); remove() is idempotent.
        spec.egress.masquerade = false;
        assertThat(nft.apply(MasqueradeTable.script(EgressPlan.of(spec, a, List.of(a)), "wiremesh0"))).isTrue();
        assertThat(sh("ip", "netns", "exec", NODE, "nft", "list", "table", "inet", "wiremesh")).doesNotContain("masquerade");
        nft.remove();
        assertThat(sh("ip", "netns", "exec", NODE, "nft", "list", "tables")).doesNotContain("wiremesh");
        nft.remove();
        assertThat(sh("ip", "netns", "exec", NODE, "iptables-save", "-t", "nat").replaceAll("(?m)^#.*$", ""))
                .as("kube-proxy's chains and rules").isEqualTo(kubeProxyBefore);
    }

    @Test
    void aRefusedScriptIsAnErrorThatSaysWhy() throws Exception {
        Nft nft = new Nft(List.of("ip", "netns", "exec", NODE, "/usr/sbin/nft"));
        try {
            nft.apply("# wiremesh-sha256:x\ntable inet wiremesh { chain c { nonsense } }\n");
            throw new AssertionError("nft accepted nonsense");
        } catch (java.io.IOException e) {
            assertThat(e.getMessage()).contains("nft -f - failed").contains("nonsense");
        }
    }

    private static boolean ping() throws Exception {
        return new ProcessBuilder("ip", "netns", "exec", POD, "ping", "-c", "1", "-W", "1", "198.18.5.2").start().waitFor() == 0;
    }

}
