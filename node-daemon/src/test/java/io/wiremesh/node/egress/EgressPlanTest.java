package io.wiremesh.node.egress;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class EgressPlanTest {
    static WireGuardMeshSpec mesh() {
        WireGuardMeshSpec s = new WireGuardMeshSpec();
        s.podCIDRs = List.of("10.42.0.0/16", "fd42::/48");
        s.peerCIDRs = List.of("10.45.0.0/24");
        return s;
    }

    /** A member that is a peer: the operator accepted its key and an endpoint (spec), which its status proposed. */
    static WireGuardNode node(String name, List<String> blocks, List<String> addresses) {
        WireGuardNode w = new WireGuardNode();
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = name;
        w.getSpec().podCIDRs = blocks;
        w.getSpec().nodeAddresses = addresses;
        w.getSpec().publicKey = "k-" + name;
        w.getSpec().endpoints = List.of(addresses == null ? "198.18.255.1:51820" : addresses.get(0) + ":51820");
        w.setStatus(new io.wiremesh.api.v1alpha1.WireGuardNodeStatus());
        w.getStatus().publicKey = w.getSpec().publicKey;
        w.getStatus().endpoints = w.getSpec().endpoints;
        return w;
    }

    @Test
    void aMemberThatIsNotAPeerYetIsReachedLikeTheOutsideNotDropped() {
        WireGuardNode a = node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        WireGuardNode late = node("late", List.of("10.42.3.0/24"), List.of("198.19.0.13"));
        late.getSpec().publicKey = null; // its daemon has proposed a key and endpoint (status), the operator not accepted them yet
        late.getSpec().endpoints = null;
        WireGuardNode noEndpoint = node("noendpoint", List.of("10.42.4.0/24"), List.of("198.19.0.14"));
        noEndpoint.getSpec().endpoints = List.of(); // an accepted key, but no accepted endpoint
        WireGuardNode unpublished = node("unpublished", List.of("10.42.5.0/24"), List.of("198.19.0.15"));
        unpublished.getSpec().publicKey = null;
        unpublished.getSpec().endpoints = null;
        unpublished.setStatus(null); // its daemon has not even proposed anything
        EgressPlan p = EgressPlan.of(mesh(), a, List.of(a, late, noEndpoint, unpublished));
        assertThat(p.remoteNodes()).isEmpty();
        assertThat(p.inMesh()).doesNotContain(Cidr.parse("198.19.0.13/32"), Cidr.parse("198.19.0.14/32"), Cidr.parse("198.19.0.15/32"));
    }

    @Test
    void aBadEntryIsLeftOutAloneNeverDisablingEgress() {
        WireGuardMeshSpec spec = mesh();
        spec.egress = new WireGuardMeshSpec.Egress();
        spec.egress.excludeCIDRs = List.of("10.1.2.3/8", "172.16.0.0/12");
        WireGuardNode a = node("a", List.of("10.42.1.0/24"), List.of("198.19.0.11"));
        WireGuardNode b = node("b", List.of("10.42.2.0/24"), List.of("198.19.0.12", ":"));
        EgressPlan p = EgressPlan.of(spec, a, List.of(a, b));
        assertThat(p.inMesh()).contains(Cidr.parse("172.16.0.0/12"), Cidr.parse("198.19.0.12/32"));
        assertThat(p.remoteNodes()).containsExactly(Cidr.parse("198.19.0.12/32"));
        assertThat(p.rejected()).hasSize(2).anyMatch(r -> r.contains("10.1.2.3/8")).anyMatch(r -> r.contains("node b"));
    }

    private static List<Cidr> cidrs(String... s) {
        return java.util.Arrays.stream(s).map(Cidr::parse).toList();
    }

    @Test
    void masqueradesPodAndPeerPoolsExceptTowardsTheMeshAndItsNodes() {
        WireGuardNode a = node("a", List.of("10.42.1.0/24", "fd42::1:0/112"), List.of("198.19.0.11", "fd19::11"));
        WireGuardNode b = node("b", List.of("10.42.2.0/24", "fd42::2:0/112"), List.of("198.19.0.12"));
        EgressPlan p = EgressPlan.of(mesh(), a, List.of(a, b));
        assertThat(p.masquerade()).isTrue();
        assertThat(p.sources()).isEqualTo(cidrs("10.42.0.0/16", "10.45.0.0/24", "fd42::/48"));
        assertThat(p.inMesh()).isEqualTo(cidrs("10.42.0.0/16", "10.45.0.0/24", "198.19.0.11/32", "198.19.0.12/32", "fd19::11/128", "fd42::/48"));
        // Policy routing: from the pod and peer pools (also other nodes' pods forwarded here), towards the other nodes only.
        assertThat(p.ruleSources()).isEqualTo(cidrs("10.42.0.0/16", "10.45.0.0/24", "fd42::/48"));
        assertThat(p.remoteNodes()).isEqualTo(cidrs("198.19.0.12/32"));
    }

    @Test
    void userExclusionsKeepTheSourceAndContainedEntriesCollapse() {
        WireGuardMeshSpec spec = mesh();
        spec.egress = new WireGuardMeshSpec.Egress();
        spec.egress.excludeCIDRs = List.of("172.16.0.0/12", "172.16.5.0/24", "10.42.9.0/24");
        WireGuardNode a = node("a", List.of("10.42.1.0/24"), List.of("172.16.5.5"));
        EgressPlan p = EgressPlan.of(spec, a, List.of(a));
        assertThat(p.inMesh()).isEqualTo(cidrs("10.42.0.0/16", "10.45.0.0/24", "172.16.0.0/12", "fd42::/48"));
        assertThat(p.remoteNodes()).isEmpty();
    }

    @Test
    void masqueradeCanBeTurnedOffAndDefaultsOn() {
        WireGuardMeshSpec spec = mesh();
        WireGuardNode a = node("a", List.of("10.42.1.0/24"), null);
        assertThat(EgressPlan.of(spec, a, List.of()).masquerade()).isTrue();
        spec.egress = new WireGuardMeshSpec.Egress();
        assertThat(EgressPlan.of(spec, a, List.of()).masquerade()).as("egress: {} keeps the default").isTrue();
        spec.egress.masquerade = false;
        assertThat(EgressPlan.of(spec, a, List.of()).masquerade()).isFalse();
        // Off means no NAT; the fail-closed chains stay.
        WireGuardNode b = node("b", List.of("10.42.2.0/24"), List.of("198.19.0.12"));
        String script = MasqueradeTable.script(EgressPlan.of(spec, a, List.of(a, b)), "wiremesh0");
        assertThat(script).doesNotContain("masquerade", "postrouting").contains("daddr @nodes4 oifname != \"wiremesh0\" meta mark & 0x100000 == 0 drop");
    }

    @Test
    void membersWithoutSpecOrAddressesAreSkipped() {
        WireGuardNode a = node("a", List.of("10.42.1.0/24"), null);
        WireGuardNode empty = new WireGuardNode();
        EgressPlan p = EgressPlan.of(mesh(), a, List.of(a, empty, node("c", List.of("10.42.3.0/24"), null)));
        assertThat(p.remoteNodes()).isEmpty();
        assertThat(p.inMesh()).isEqualTo(cidrs("10.42.0.0/16", "10.45.0.0/24", "fd42::/48"));
    }

    @Test
    void minimalIsTheSortedSetWithoutContainedEntries() {
        java.util.Random random = new java.util.Random(7);
        for (int round = 0; round < 200; round++) {
            List<Cidr> in = new java.util.ArrayList<>();
            String[] v6 = {"fd42::/16", "fd42::/32", "fd42:1::/32", "fd42:1::/48", "fd42:1:2::/48", "fd42:1:2::/64", "fd42:1:2::1/128"};
            for (int i = 0; i < 40; i++) {
                if (random.nextInt(4) == 0) {
                    in.add(Cidr.parse(v6[random.nextInt(v6.length)]));
                    continue;
                }
                int bits = 8 + random.nextInt(25);
                int address = (10 << 24) | random.nextInt(1 << 12) << 8 | random.nextInt(256); // 10.0.0.0/12-ish
                int network = bits == 32 ? address : address & (-1 << (32 - bits));
                in.add(Cidr.parse((network >>> 24) + "." + (network >>> 16 & 255) + "." + (network >>> 8 & 255) + "." + (network & 255) + "/" + bits));
            }
            // The definition: every distinct entry that no other entry contains, sorted.
            List<Cidr> expected = new java.util.TreeSet<>(in).stream()
                    .filter(c -> in.stream().noneMatch(o -> !o.equals(c) && o.contains(c))).toList();
            assertThat(EgressPlan.minimal(in)).isEqualTo(expected);
        }
    }
}
