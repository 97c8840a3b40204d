package io.wiremesh.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.device.QueueTun;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.timers.Clock;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.DatagramSocket;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The server speaks no UAPI key that {@link UapiKeys} does not define. */
class UapiKeysTest {
    /** Every key {@link UapiKeys} defines (its String constants, minus the two operation lines). */
    static Set<String> definedKeys() {
        return Arrays.stream(UapiKeys.class.getDeclaredFields())
                .filter(f -> Modifier.isStatic(f.getModifiers()) && f.getType() == String.class)
                .map(UapiKeysTest::value)
                .filter(v -> !v.equals(UapiKeys.GET) && !v.equals(UapiKeys.SET))
                .collect(Collectors.toSet());
    }

    private static String value(Field f) {
        try {
            return (String) f.get(null);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aFullyConfiguredDevicesGetUsesOnlyDefinedKeys() throws Exception {
        try (Device device = new Device(new QueueTun(), LinuxUdpBind::open, Clock.SYSTEM, new Device.Options(0, 16, false))) {
            Uapi uapi = new Uapi(device);
            String peer = Keys.toHex(X25519.publicKey(X25519.generatePrivateKey()));
            int port;
            try (DatagramSocket free = new DatagramSocket(0)) {
                port = free.getLocalPort(); // a get reports listen_port only when it is not 0
            }
            uapi.set(List.of(
                    UapiKeys.PRIVATE_KEY + "=" + Keys.toHex(X25519.generatePrivateKey()),
                    UapiKeys.LISTEN_PORT + "=" + port,
                    UapiKeys.FWMARK + "=4660",
                    UapiKeys.PUBLIC_KEY + "=" + peer,
                    UapiKeys.PRESHARED_KEY + "=" + Keys.toHex(Keys.random().generateSeed(32)),
                    UapiKeys.ENDPOINT + "=198.18.0.1:51820",
                    UapiKeys.PERSISTENT_KEEPALIVE_INTERVAL + "=25",
                    UapiKeys.REPLACE_ALLOWED_IPS + "=true",
                    UapiKeys.ALLOWED_IP + "=10.200.0.0/24",
                    UapiKeys.ALLOWED_IP + "=fd00:200::/64"));
            List<String> keys = uapi.get().lines().map(l -> l.substring(0, l.indexOf('='))).toList();
            assertThat(definedKeys()).containsAll(keys);
            // Every key a get can report was reported: the check above covered the whole get vocabulary.
            assertThat(keys).containsAll(List.of(UapiKeys.PRIVATE_KEY, UapiKeys.LISTEN_PORT, UapiKeys.FWMARK, UapiKeys.PUBLIC_KEY,
                    UapiKeys.PRESHARED_KEY, UapiKeys.PROTOCOL_VERSION, UapiKeys.ENDPOINT, UapiKeys.LAST_HANDSHAKE_TIME_SEC,
                    UapiKeys.LAST_HANDSHAKE_TIME_NSEC, UapiKeys.TX_BYTES, UapiKeys.RX_BYTES, UapiKeys.PERSISTENT_KEEPALIVE_INTERVAL,
                    UapiKeys.ALLOWED_IP));
        }
    }

    @Test
    void theKeysAreTheProtocolsSpelling() {
        // As https://www.wireguard.com/xplatform/ and wireguard-go's device/uapi.go spell them.
        assertThat(definedKeys()).containsExactlyInAnyOrder("errno", "private_key", "listen_port", "fwmark", "replace_peers",
                "public_key", "remove", "update_only", "preshared_key", "endpoint", "persistent_keepalive_interval",
                "replace_allowed_ips", "allowed_ip", "protocol_version", "last_handshake_time_sec", "last_handshake_time_nsec",
                "rx_bytes", "tx_bytes");
        assertThat(UapiKeys.GET).isEqualTo("get=1");
        assertThat(UapiKeys.SET).isEqualTo("set=1");
    }
}
