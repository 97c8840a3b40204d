package io.wiremesh.clusterdns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {
    @ParameterizedTest(name = "{0} -> {1} port {2}")
    @CsvSource(delimiter = '|', textBlock = """
            0.0.0.0:53          | 0.0.0.0     | 53
            10.96.0.10          | 10.96.0.10  | 53
            198.51.100.2:5353   | 198.51.100.2| 5353
            fd00::1             | fd00::1     | 53
            [fd00::1]           | fd00::1     | 53
            [fd00::1]:1053      | fd00::1     | 1053
            [::]:53             | ::          | 53
            """)
    void parses(String text, String ip, int port) {
        assertThat(HostPort.parse(text, 53)).isEqualTo(new InetSocketAddress(java.net.InetAddress.ofLiteral(ip), port));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "dns.example", "dns.example:53", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:x",
            "[fd00::1", "[fd00::1]53", "[10.0.0.1", "300.1.1.1"})
    void refuses(String text) {
        assertThatThrownBy(() -> HostPort.parse(text, 53)).isInstanceOf(IllegalArgumentException.class);
    }
}
