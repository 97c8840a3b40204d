package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.PresharedKeys;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** spec.presharedKeys.interval: what the pattern admits, what it means, and that no value can throw at a node. */
class PresharedKeyIntervalTest {
    @Test
    void durationsInTheApisFormParse() {
        assertThat(PresharedKeys.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(PresharedKeys.parse("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(PresharedKeys.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(PresharedKeys.parse("720h")).isEqualTo(Duration.ofDays(30));
        assertThat(PresharedKeys.parse("1s")).as("raised to the floor").isEqualTo(PresharedKeys.MIN_INTERVAL);
    }

    @Test
    void repeatedOrMisorderedUnitsAreRefusedByThePatternItself() {
        for (String bad : new String[] {"1s1h", "1h1h", "2", "m", "", "1d", "-5s", "9999999s"}) {
            assertThat(bad.matches(PresharedKeys.DURATION)).as(bad).isFalse();
            assertThatThrownBy(() -> PresharedKeys.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void theSpecsAccessorNeverThrows() {
        WireGuardMeshSpec s = new WireGuardMeshSpec();
        assertThat(s.presharedKeyInterval()).isEqualTo(PresharedKeys.DEFAULT_INTERVAL);
        assertThat(s.presharedKeysEnabled()).isTrue();
        s.presharedKeys = new PresharedKeys();
        s.presharedKeys.interval = "1s1h";
        assertThat(s.presharedKeyInterval()).isEqualTo(PresharedKeys.DEFAULT_INTERVAL);
        s.presharedKeys.enabled = false;
        assertThat(s.presharedKeysEnabled()).isFalse();
    }
}
