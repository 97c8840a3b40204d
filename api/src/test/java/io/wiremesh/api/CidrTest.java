package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class CidrTest {
    @Test
    void parsesFormatsAndSplitsIntoBlocks() {
        Cidr pool = Cidr.parse("10.42.0.0/16");
        assertThat(pool.blockCount(24)).isEqualTo(BigInteger.valueOf(256));
        assertThat(pool.block(BigInteger.valueOf(3), 24).toString()).isEqualTo("10.42.3.0/24");
        assertThat(pool.block(BigInteger.valueOf(3), 24).address(1)).isEqualTo("10.42.3.1");
        Cidr v6 = Cidr.parse("fd42::/48");
        assertThat(v6.block(BigInteger.valueOf(5), 112).toString()).isEqualTo("fd42::5:0/112");
        assertThat(v6.block(BigInteger.ZERO, 112).address(1)).isEqualTo("fd42::1");
        assertThat(Cidr.parse("fd00:1:0:0:1::/80").toString()).isEqualTo("fd00:1:0:0:1::/80");
        assertThat(Cidr.parse("::/0").toString()).isEqualTo("::/0");
    }

    @Test
    void overlapAndContainment() {
        assertThat(Cidr.parse("10.0.0.0/8").overlaps(Cidr.parse("10.5.0.0/16"))).isTrue();
        assertThat(Cidr.parse("10.0.0.0/16").overlaps(Cidr.parse("10.1.0.0/16"))).isFalse();
        assertThat(Cidr.parse("10.0.0.0/8").overlaps(Cidr.parse("fd00::/8"))).isFalse();
        assertThat(Cidr.parse("10.0.0.0/8").contains(Cidr.parse("10.255.0.0/16"))).isTrue();
    }

    @Test
    void errorsSayWhatToWrite() {
        assertThatThrownBy(() -> Cidr.parse("10.42.0.5/16")).hasMessageContaining("use 10.42.0.0/16");
        assertThatThrownBy(() -> Cidr.parse("10.42.0.0")).hasMessageContaining("add a prefix length");
        assertThatThrownBy(() -> Cidr.parse("example.com/8")).hasMessageContaining("literal");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/40")).hasMessageContaining("out of range");
    }
}
