package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshChangeTest {
    private static WireGuardMeshSpec spec() {
        WireGuardMeshSpec s = new WireGuardMeshSpec();
        s.podCIDRs = List.of("10.42.0.0/16");
        return s;
    }

    @Test
    void noChangeAndOperatorOnlyFieldsAreNothingForTheNode() {
        WireGuardMeshSpec a = spec(), b = spec();
        assertThat(MeshChange.between(a, b)).isEmpty();
        b.nodeSelector = Map.of("pool", "gpu");
        assertThat(MeshChange.between(a, b)).isEmpty();
    }

    @Test
    void defaultsCompareAsTheirValues() {
        WireGuardMeshSpec a = spec(), b = spec();
        b.listenPort = 51820;
        b.persistentKeepalive = 0;
        b.datapath = WireGuardMeshSpec.Datapath.AUTO;
        b.peerCIDRs = List.of();
        b.egress = new WireGuardMeshSpec.Egress();
        b.egress.masquerade = true;
        b.presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        b.presharedKeys.enabled = true;
        b.presharedKeys.interval = "120s";
        assertThat(MeshChange.between(a, b)).isEmpty();
        b.presharedKeys.interval = "1s";
        WireGuardMeshSpec c = spec();
        c.presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        c.presharedKeys.interval = "5s";
        assertThat(MeshChange.between(b, c)).as("below the 5 s floor is the floor").isEmpty();
    }

    @Test
    void eachFieldMapsToWhatItTakes() {
        WireGuardMeshSpec a = spec();
        WireGuardMeshSpec b = spec();
        b.listenPort = 51821;
        b.mtu = 1380;
        b.persistentKeepalive = 25;
        b.peerCIDRs = List.of("10.45.0.0/24");
        b.egress = new WireGuardMeshSpec.Egress();
        b.egress.masquerade = false;
        b.datapath = WireGuardMeshSpec.Datapath.KERNEL;
        b.presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        b.presharedKeys.interval = "30s";
        assertThat(MeshChange.between(a, b)).containsExactlyInAnyOrder(MeshChange.values());
        WireGuardMeshSpec c = spec();
        c.podCIDRs = List.of("10.42.0.0/16", "fd42::/48");
        assertThat(MeshChange.between(a, c)).containsExactly(MeshChange.POOLS);
        WireGuardMeshSpec d = spec();
        d.egress = new WireGuardMeshSpec.Egress();
        d.egress.excludeCIDRs = List.of("203.0.113.0/24");
        assertThat(MeshChange.between(a, d)).containsExactly(MeshChange.EGRESS);
        WireGuardMeshSpec e = spec();
        e.mtu = 1380;
        assertThat(MeshChange.between(e, a)).as("back to the automatic MTU").containsExactly(MeshChange.MTU);
        WireGuardMeshSpec f = spec();
        f.presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        f.presharedKeys.enabled = false;
        assertThat(MeshChange.between(a, f)).containsExactly(MeshChange.PRESHARED_KEYS);
    }
}
