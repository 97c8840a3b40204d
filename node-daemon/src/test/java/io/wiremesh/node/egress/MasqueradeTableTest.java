package io.wiremesh.node.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MasqueradeTableTest {
    @Test
    void oneTransactionThatReplacesOnlyItsOwnTable() {
        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        String s = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a)), "wiremesh0");
        assertThat(s.lines().filter(l -> l.startsWith("table ") || l.startsWith("delete ")).toList())
                .containsExactly("table inet wiremesh {}", "delete table inet wiremesh", "table inet wiremesh {");
        assertThat(s).contains("oifname \"wiremesh0\" return",
                "type nat hook postrouting priority srcnat + 10;",
                "set mesh4 { type ipv4_addr; flags interval; elements = { 10.42.0.0/16, 10.45.0.0/24, 198.19.0.11 }; }",
                "ip saddr @sources4 ip daddr != @mesh4 masquerade fully-random",
                "ip6 saddr @sources6 ip6 daddr != @mesh6 masquerade fully-random",
                "ip saddr @sources4 fib saddr . iif oif missing drop",
                "ip6 saddr @sources6 fib saddr . iif oif missing drop",
                "type filter hook prerouting priority mangle;");
        assertThat(s).as("no peer node yet: no forward rule").doesNotContain("chain forward");
        assertThat(s).doesNotContain("flush", "ip nat", "iptables");
    }

    @Test
    void podTrafficForAPeerNodesAddressLeavesOnlyThroughTheTunnel() {
        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        var b = EgressPlanTest.node("b", List.of("10.42.2.0/24"), List.of("198.19.0.12", "fd19::12"));
        String s = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a, b)), "wiremesh0");
        assertThat(s).contains("set nodes4 { type ipv4_addr; flags interval; elements = { 198.19.0.12 }; }",
                "ip saddr @sources4 ip daddr @nodes4 oifname != \"wiremesh0\" meta mark & 0x100000 == 0 drop",
                "ip6 saddr @sources6 ip6 daddr @nodes6 oifname != \"wiremesh0\" meta mark & 0x100000 == 0 drop");
    }

    @Test
    void aPodsReplyToANodeThatDialledAServiceOfThisNodeIsMarkedToLeaveAsTheRequestCame() {
        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        var b = EgressPlanTest.node("b", List.of("10.42.2.0/24"), List.of("198.19.0.12", "fd19::12"));
        String s = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a, b)), "wiremesh0");
        assertThat(s).contains(
                "ct direction reply ct status dnat ip saddr @sources4 ct original ip saddr != @sources4 ct original ip daddr != @sources4"
                        + " meta mark set meta mark or 0x100000",
                "ct direction reply ct status dnat ip6 saddr @sources6 ct original ip6 saddr != @sources6 ct original ip6 daddr != @sources6"
                        + " meta mark set meta mark or 0x100000");
        assertThat(s.indexOf("meta mark set")).as("marked in the prerouting chain, before routing").isGreaterThan(s.indexOf("chain prerouting"));
    }

    @Test
    void theDigestFollowsTheContent() {
        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        var b = EgressPlanTest.node("b", List.of("10.42.2.0/24"), List.of("198.19.0.12"));
        String one = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a)), "wiremesh0");
        String same = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a)), "wiremesh0");
        String two = MasqueradeTable.script(EgressPlan.of(EgressPlanTest.mesh(), a, List.of(a, b)), "wiremesh0");
        assertThat(MasqueradeTable.digest(one)).startsWith("wiremesh-sha256:").isEqualTo(MasqueradeTable.digest(same))
                .isNotEqualTo(MasqueradeTable.digest(two));
        assertThat(one).contains("comment \"" + MasqueradeTable.digest(one) + "\"");
        assertThat(MasqueradeTable.digest(MasqueradeTable.removal())).isNull();
    }

    @Test
    void aSingleFamilyMeshHasNoRulesForTheOther() {
        var spec = EgressPlanTest.mesh();
        spec.podCIDRs = List.of("10.42.0.0/16");
        var a = EgressPlanTest.node("a", List.of("10.42.1.0/24"), null);
        String s = MasqueradeTable.script(EgressPlan.of(spec, a, List.of(a)), "wiremesh0");
        assertThat(s).contains("@sources4").doesNotContain("ip6", "sources6");
    }
}
