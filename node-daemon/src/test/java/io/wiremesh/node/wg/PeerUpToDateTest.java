package io.wiremesh.node.wg;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.node.wg.WireGuardDevice.PeerConfig;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When a peer sync may skip writing a peer: only when the interface holds exactly what is wanted. */
class PeerUpToDateTest {
    private static final String KEY = "oQ0A0V0q3kR0d5LrGkq3J8Yc7v3y1nqM0mX8cX9r2k0=";
    private static final String PSK = "K2aTx0V9o8m7l6k5j4i3h2g1f0e9d8c7b6a5Z4Y3X2W=";
    private final PeerConfig wanted = new PeerConfig(KEY, "198.18.0.7:51820", List.of("10.42.1.0/24", "10.42.1.1/32"), 25, PSK);

    private static PeerState state(String endpoint, List<String> ips, int keepalive, String psk) {
        return new PeerState(KEY, endpoint, ips, 1_700_000_000L, 10, 20, keepalive, psk);
    }

    @Test
    void theSamePeerInAnyPrefixOrderAndWithTrafficIsUpToDate() {
        assertThat(WireGuardDevice.upToDate(wanted, state("198.18.0.7:51820", List.of("10.42.1.1/32", "10.42.1.0/24"), 25, PSK))).isTrue();
    }

    @Test
    void anAbsentPeerIsNot() {
        assertThat(WireGuardDevice.upToDate(wanted, null)).isFalse();
    }

    @Test
    void eachConfiguredFieldCounts() {
        assertThat(WireGuardDevice.upToDate(wanted, state("198.18.0.8:51820", wanted.allowedIps(), 25, PSK))).as("endpoint").isFalse();
        assertThat(WireGuardDevice.upToDate(wanted, state(null, wanted.allowedIps(), 25, PSK))).as("no endpoint yet").isFalse();
        assertThat(WireGuardDevice.upToDate(wanted, state("198.18.0.7:51820", List.of("10.42.1.0/24"), 25, PSK))).as("allowed IPs").isFalse();
        assertThat(WireGuardDevice.upToDate(wanted, state("198.18.0.7:51820", wanted.allowedIps(), 0, PSK))).as("keepalive").isFalse();
        assertThat(WireGuardDevice.upToDate(wanted, state("198.18.0.7:51820", wanted.allowedIps(), 25, null))).as("preshared key").isFalse();
    }

    @Test
    void aRoamingDeviceWithoutAConfiguredEndpointKeepsItsOwn() {
        PeerConfig external = new PeerConfig(KEY, null, List.of("10.99.0.2/32"), 0, null);
        assertThat(WireGuardDevice.upToDate(external, state("198.18.0.9:40000", List.of("10.99.0.2/32"), 0, null))).isTrue();
    }
}
