package io.wiremesh.clusterdns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DashedIpTest {
    @ParameterizedTest(name = "{0} <-> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            10.42.1.5                | 10-42-1-5
            0.0.0.0                  | 0-0-0-0
            fd00::5                  | fd00--5
            fd00:42:0:0:1:0:0:7      | fd00-42--1-0-0-7
            2001:db8:0:0:1:0:0:1     | 2001-db8--1-0-0-1
            ::1                      | --1
            fe80::                   | fe80--
            2001:db8:1:2:3:4:5:6     | 2001-db8-1-2-3-4-5-6
            """)
    void labelsAndBack(String ip, String label) {
        InetAddress a = InetAddress.ofLiteral(ip);
        assertThat(DashedIp.label(a)).isEqualTo(label);
        assertThat(DashedIp.parse(label)).contains(a);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            FD00--5                  | fd00::5
            fd00-0000-0000-0000-0000-0000-0000-0005 | fd00::5
            """)
    void otherSpellingsOfAnAddress(String label, String ip) {
        assertThat(DashedIp.parse(label)).contains(InetAddress.ofLiteral(ip));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "db-0", "10-42-1", "10-42-1-5-6", "10-42-1-256", "a-b-c-d", "10.42.1.5", "fd00::5", "dead-beef",
            "fd00---5", "-", "1-2-3-4-", "localhost", "fd00--5--6", "010-042-001-005", "10-42-01-5"})
    void rejectsWhatIsNotAnAddress(String label) {
        assertThat(DashedIp.parse(label)).isEmpty();
    }
}
