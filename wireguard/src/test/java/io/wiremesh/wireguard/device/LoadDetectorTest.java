package io.wiremesh.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.Protocol;
import org.junit.jupiter.api.Test;

class LoadDetectorTest {
    private static final long MS = 1_000_000L;

    @Test
    void underLoadAtAnEighthOfTheQueueAndForOneSecondAfter() {
        LoadDetector d = new LoadDetector(1024);
        long t = 5_000 * MS;
        assertThat(d.underLoad(0, t)).as("idle").isFalse();
        assertThat(d.underLoad(127, t)).as("just below 1/8").isFalse();
        assertThat(d.underLoad(128, t)).as("1/8 full").isTrue();
        // The queue drains at once, as it does between bursts of a flood: cookies stay required for a second.
        assertThat(d.underLoad(0, t + 1)).isTrue();
        assertThat(d.underLoad(0, t + Protocol.UNDER_LOAD_AFTER_TIME - 1)).isTrue();
        assertThat(d.underLoad(0, t + Protocol.UNDER_LOAD_AFTER_TIME)).isFalse();
        // Every full moment extends it.
        assertThat(d.underLoad(500, t + 1500 * MS)).isTrue();
        assertThat(d.underLoad(3, t + 2400 * MS)).isTrue();
        assertThat(d.underLoad(3, t + 2500 * MS)).isFalse();
    }

    @Test
    void monotonicTimeMayBeNegative() {
        LoadDetector d = new LoadDetector(1024);
        assertThat(d.underLoad(0, Long.MIN_VALUE + 10)).isFalse();
        assertThat(d.underLoad(200, -5 * MS)).isTrue();
        assertThat(d.underLoad(0, 5 * MS)).isTrue();
        assertThat(d.underLoad(0, 995 * MS)).isFalse();
    }
}
