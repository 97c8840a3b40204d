package io.wiremesh.wireguard.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.device.Drop;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.timers.Clock;
import io.wiremesh.wireguard.tun.Tun;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Drops counted by a running device show up on its /metrics, by reason, as Prometheus text. */
class DatapathMetricsTest {
    /** A TUN that never yields a packet: the test drives the UDP side only. */
    private static final class IdleTun implements Tun {
        private volatile boolean closed;

        public int read(ByteBuffer dst) throws java.io.IOException {
            while (!closed) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return -1;
                }
            }
            return -1;
        }

        public void write(ByteBuffer src) {}

        public String name() {
            return "wmtest0";
        }

        public int mtu() {
            return 1420;
        }

        public void close() {
            closed = true;
        }
    }

    @Test
    void dropsByReasonOnTheMetricsEndpoint() throws Exception {
        try (Device device = new Device(new IdleTun(), LinuxUdpBind::open, Clock.SYSTEM, new Device.Options(0, 16, true));
             DatagramSocket s = new DatagramSocket()) {
            device.start();
            try (DatapathMetrics metrics = DatapathMetrics.serve(device, "wmtest0", "127.0.0.1:0")) {
                // Three datagrams too short to be WireGuard, one of an unknown message type.
                for (int i = 0; i < 3; i++) s.send(new DatagramPacket(new byte[] {1, 2}, 2, InetAddress.getLoopbackAddress(), device.listenPort()));
                s.send(new DatagramPacket(new byte[] {9, 0, 0, 0, 0}, 5, InetAddress.getLoopbackAddress(), device.listenPort()));
                await().atMost(Liveness.BOUND).until(() -> device.drops(Drop.TOO_SHORT) == 3 && device.drops(Drop.BAD_TYPE) == 1);
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metrics.port()
                        + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
                assertThat(r.body())
                        .contains("wiremesh_wg_dropped_total{interface=\"wmtest0\",reason=\"too_short\"} 3.0")
                        .contains("wiremesh_wg_dropped_total{interface=\"wmtest0\",reason=\"bad_type\"} 1.0")
                        .contains("wiremesh_wg_dropped_total{interface=\"wmtest0\",reason=\"cookie_required\"} 0.0")
                        .contains("wiremesh_wg_peers{interface=\"wmtest0\"} 0.0")
                        .contains("wiremesh_wg_under_load{interface=\"wmtest0\"} 0.0");
            }
        }
    }

    @Test
    void aBadAddressIsAClearError() {
        assertThatThrownBy(() -> DatapathMetrics.serve(null, "x", "9466")).hasMessageContaining("is not HOST:PORT");
        assertThatThrownBy(() -> DatapathMetrics.serve(null, "x", "localhost:http")).hasMessageContaining("no numeric port");
    }
}
