package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.node.wg.WireGuardDevice.PeerConfig;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The node-daemon's decision of peers, AllowedIPs and routes, with no device and no cluster. */
class PeerPlanTest {
    private static final Function<WireGuardPeerSpec, String> NO_PSK = s -> null;
    private static final java.util.function.BiFunction<String, String, String> NO_NODE_PSK = (node, key) -> null;
    private final WireGuardMeshSpec spec = new WireGuardMeshSpec();

    PeerPlanTest() {
        spec.podCIDRs = List.of("10.42.0.0/16", "fd42::/48");
        spec.peerCIDRs = List.of("10.99.0.0/24");
        spec.persistentKeepalive = 25;
    }

    /**
     * A member whose key and endpoint the operator accepted into its spec ({@code key} null: none yet), its
     * status holding the same values as the node's proposal.
     */
    private static WireGuardNode member(String node, int i, String key, String endpoint) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("m." + node).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().nodeName = node;
        w.getSpec().podCIDRs = List.of("10.42." + i + ".0/24", "fd42::" + i + ":0/112");
        w.getSpec().overlayAddresses = List.of("10.42." + i + ".1", "fd42::" + i + ":1");
        w.getSpec().nodeAddresses = List.of("198.18.0." + i);
        if (key != null) {
            w.getSpec().publicKey = key;
            w.getSpec().endpoints = endpoint == null ? null : List.of(endpoint);
            propose(w, key, endpoint);
        }
        return w;
    }

    /** The node's own proposal in its status (what its node-daemon writes; not trusted until the operator accepts it). */
    private static WireGuardNode propose(WireGuardNode w, String key, String endpoint) {
        w.setStatus(new WireGuardNodeStatus());
        w.getStatus().publicKey = key;
        w.getStatus().endpoints = endpoint == null ? null : List.of(endpoint);
        return w;
    }

    private static WireGuardPeer device(String mesh, String name, String key, String address, String gatewayNode) {
        WireGuardPeer p = ExternalPeerRoutesTest.peer(mesh, key, address, gatewayNode, "vpn.example.test:51820");
        p.setMetadata(new ObjectMetaBuilder().withName(name).build());
        return p;
    }

    private final WireGuardNode me = member("n1", 1, "KEY1", "198.18.0.1:51820");
    private final WireGuardNode n2 = member("n2", 2, "KEY2", "198.18.0.2:51820");
    private final WireGuardNode n3 = member("n3", 3, "KEY3", "[fd18::3]:51820");

    @Test
    void everyOtherPublishedMemberIsAPeerWithItsBlocksOverlayAndNodeAddresses() {
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, n2, n3), true, List.of(), NO_PSK, NO_NODE_PSK);
        assertThat(plan.peers()).containsOnlyKeys("KEY2", "KEY3");
        PeerConfig p2 = plan.peers().get("KEY2");
        assertThat(p2.endpoint()).isEqualTo("198.18.0.2:51820");
        assertThat(p2.persistentKeepalive()).isEqualTo(25);
        assertThat(p2.presharedKey()).isNull();
        assertThat(p2.allowedIps()).containsExactly("10.42.2.0/24", "fd42::2:0/112", "10.42.2.1/32", "fd42::2:1/128", "198.18.0.2/32");
        assertThat(plan.peers().get("KEY3").endpoint()).isEqualTo("[fd18::3]:51820");
        assertThat(plan.routedBlocks()).containsExactlyInAnyOrder(Cidr.parse("10.42.2.0/24"), Cidr.parse("fd42::2:0/112"),
                Cidr.parse("10.42.3.0/24"), Cidr.parse("fd42::3:0/112"), Cidr.parse("10.99.0.0/24"));
        assertThat(plan.nodeByKey()).isEqualTo(Map.of("KEY2", "n2", "KEY3", "n3"));
        assertThat(plan.externalNames()).isEmpty();
    }

    @Test
    void aMemberWithoutKeyOrEndpointIsNeitherPeerNorRouted() {
        WireGuardNode noStatus = member("n4", 4, null, null), noEndpoint = member("n5", 5, "KEY5", null);
        spec.persistentKeepalive = null;
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, n2, noStatus, noEndpoint), true, List.of(), NO_PSK, NO_NODE_PSK);
        assertThat(plan.peers()).containsOnlyKeys("KEY2");
        assertThat(plan.peers().get("KEY2").persistentKeepalive()).as("keepalive unset: off").isZero();
        assertThat(plan.routedBlocks()).noneMatch(c -> c.toString().startsWith("10.42.4.") || c.toString().startsWith("10.42.5."));
    }

    @Test
    void aNewlyAcceptedKeyReplacesTheOldPeer() {
        WireGuardNode rekeyed = member("n2", 2, "KEY2-NEW", "198.18.0.2:51820");
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, rekeyed), true, List.of(), NO_PSK, NO_NODE_PSK);
        assertThat(plan.peers()).containsOnlyKeys("KEY2-NEW"); // the device's KEY2 is a stranger now: sync removes it
    }

    @Test
    void aMemberWhoseKeyAndEndpointAreOnlyProposedInItsStatusIsNeitherPeerNorRouted() {
        // n4's node-daemon wrote a key and an endpoint into its status, but the operator has accepted none (yet).
        WireGuardNode proposedOnly = propose(member("n4", 4, null, null), "KEY4", "198.18.0.4:51820");
        // n5 has an accepted key but no accepted endpoint; the one in its status does not make up for it.
        WireGuardNode endpointProposedOnly = member("n5", 5, "KEY5", null);
        endpointProposedOnly.getStatus().endpoints = List.of("198.18.0.5:51820");
        List<WireGuardPeer> devices = List.of(device("m", "phone", "PHONE", "10.99.0.7/32", "n4"));
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, n2, proposedOnly, endpointProposedOnly), true, devices, NO_PSK, NO_NODE_PSK);
        assertThat(plan.peers()).containsOnlyKeys("KEY2");
        assertThat(plan.nodeByKey()).isEqualTo(Map.of("KEY2", "n2"));
        assertThat(plan.routedBlocks()).noneMatch(c -> c.toString().startsWith("10.42.4.") || c.toString().startsWith("10.42.5.")
                || c.toString().startsWith("fd42::4:") || c.toString().startsWith("fd42::5:"));
        assertThat(plan.peers().get("KEY2").allowedIps()).as("n4's device is routed to no one").doesNotContain("10.99.0.7/32");
    }

    @Test
    void aProposedKeyOrEndpointDifferentFromTheAcceptedOnesChangesNothing() {
        // n2 proposes a new key and endpoint (a rotation, or a forged status); the spec still holds the accepted ones.
        WireGuardNode proposing = member("n2", 2, "KEY2", "198.18.0.2:51820");
        propose(proposing, "KEY2-PROPOSED", "203.0.113.66:51820");
        List<WireGuardPeer> devices = List.of(device("m", "laptop", "LAPTOP", "10.99.0.8/32", "n2"));
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, proposing), true, devices, NO_PSK,
                (node, key) -> node.equals("n2") && key.equals("KEY2") ? "PAIR-PSK" : null);
        assertThat(plan.peers()).containsOnlyKeys("KEY2");
        PeerConfig p2 = plan.peers().get("KEY2");
        assertThat(p2.endpoint()).isEqualTo("198.18.0.2:51820");
        assertThat(p2.presharedKey()).as("the pair's key, looked up by the accepted key").isEqualTo("PAIR-PSK");
        assertThat(p2.allowedIps()).as("n2 serves the laptop, by its accepted key").contains("10.99.0.8/32");
        assertThat(plan.nodeByKey()).isEqualTo(Map.of("KEY2", "n2"));
        assertThat(plan).as("the same plan as without the proposal").isEqualTo(PeerPlan.of("m", "n1", spec,
                List.of(me, member("n2", 2, "KEY2", "198.18.0.2:51820")), true, devices, NO_PSK,
                (node, key) -> node.equals("n2") && key.equals("KEY2") ? "PAIR-PSK" : null));
    }

    @Test
    void theGatewayServesItsDevicesAndTheOthersRouteThemToIt() {
        List<WireGuardPeer> devices = List.of(device("m", "phone", "PHONE", "10.99.0.7/32", "n1"),
                device("m", "laptop", "LAPTOP", "10.99.0.8/32", "n2"), device("other", "else", "ELSE", "10.98.0.1/32", "n1"));
        PeerPlan onGateway = PeerPlan.of("m", "n1", spec, List.of(me, n2), true, devices, s -> s.publicKey.equals("PHONE") ? "PSK" : null, NO_NODE_PSK);
        assertThat(onGateway.peers()).containsOnlyKeys("KEY2", "PHONE");
        PeerConfig phone = onGateway.peers().get("PHONE");
        assertThat(phone.endpoint()).as("devices roam in").isNull();
        assertThat(phone.allowedIps()).containsExactly("10.99.0.7/32");
        assertThat(phone.presharedKey()).isEqualTo("PSK");
        assertThat(phone.persistentKeepalive()).isZero();
        assertThat(onGateway.externalNames()).isEqualTo(Map.of("PHONE", "phone"));
        assertThat(onGateway.peers().get("KEY2").allowedIps()).as("n2 serves the laptop").contains("10.99.0.8/32");

        PeerPlan onN2 = PeerPlan.of("m", "n2", spec, List.of(me, n2), true, devices, NO_PSK, NO_NODE_PSK);
        assertThat(onN2.peers()).containsOnlyKeys("KEY1", "LAPTOP");
        assertThat(onN2.peers().get("KEY1").allowedIps()).contains("10.99.0.7/32").doesNotContain("10.98.0.1/32");
    }

    @Test
    void aMissingPresharedKeySecretFailsThePlanRatherThanConfiguringTheDeviceWithoutIt() {
        List<WireGuardPeer> devices = List.of(device("m", "phone", "PHONE", "10.99.0.7/32", "n1"));
        assertThatThrownBy(() -> PeerPlan.of("m", "n1", spec, List.of(me, n2), true, devices, s -> {
            throw new IllegalStateException("Secret wiremesh-system/phone-psk has no key presharedKey");
        }, NO_NODE_PSK)).hasMessageContaining("phone-psk");
    }

    @Test
    void nodePeersCarryThePresharedKeyOfTheirPairAndExternalDevicesTheirOwn() {
        List<WireGuardPeer> devices = List.of(device("m", "phone", "PHONE", "10.99.0.7/32", "n1"));
        PeerPlan plan = PeerPlan.of("m", "n1", spec, List.of(me, n2, n3), true, devices, s -> "DEVICE-PSK",
                (node, key) -> node.equals("n2") && key.equals("KEY2") ? "PAIR-PSK" : null);
        assertThat(plan.peers().get("KEY2").presharedKey()).isEqualTo("PAIR-PSK");
        assertThat(plan.peers().get("KEY3").presharedKey()).as("no key with n3 yet").isNull();
        assertThat(plan.peers().get("PHONE").presharedKey()).isEqualTo("DEVICE-PSK");
    }

    @Test
    void whenThisNodesMembershipEndsItKeepsNothingButAnIncompleteViewDropsNothing() {
        PeerPlan ended = PeerPlan.of("m", "n1", spec, List.of(n2, n3), true, List.of(), NO_PSK, NO_NODE_PSK);
        assertThat(ended.peers()).isEmpty();
        assertThat(ended.routedBlocks()).isEmpty();
        PeerPlan syncing = PeerPlan.of("m", "n1", spec, List.of(n2), false, List.of(), NO_PSK, NO_NODE_PSK);
        assertThat(syncing.peers()).containsOnlyKeys("KEY2");
        assertThat(syncing.routedBlocks()).contains(Cidr.parse("10.42.2.0/24"));
        assertThat(Set.copyOf(syncing.routedBlocks())).contains(Cidr.parse("10.99.0.0/24"));
    }
}
