package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When the node agent runs a pass; times are plain numbers (nanoseconds). */
class PassScheduleTest {
    private static final long S = 1_000_000_000L;
    private final PassSchedule schedule = new PassSchedule(Duration.ofSeconds(10), 0);

    @Test
    void anUnchangedHealthyNodeWaitsForTheResync() {
        assertThat(schedule.due(S, false, false, () -> true)).isFalse();
        assertThat(schedule.due(10 * S, false, false, () -> true)).isFalse();
        assertThat(schedule.due(10 * S + 1, false, false, () -> true)).isTrue();
        schedule.ran(10 * S + 1, true);
        assertThat(schedule.due(11 * S, false, false, () -> true)).isFalse();
    }

    @Test
    void anEventAProblemChangeOrALostConfigurationRunsAPassAtOnce() {
        assertThat(schedule.due(S, true, false, () -> true)).isTrue();
        assertThat(schedule.due(S, false, true, () -> true)).isTrue();
        assertThat(schedule.due(S, false, false, () -> false)).isTrue();
    }

    @Test
    void theDatapathIsAskedOnlyWhenNothingElseMakesAPassDue() {
        assertThat(schedule.due(S, true, false, () -> {
            throw new AssertionError("asked although the node is dirty");
        })).isTrue();
    }

    @Test
    void aFailedPassRunsAgainEveryTickUntilOnePasses() {
        schedule.ran(S, false);
        assertThat(schedule.due(2 * S, false, false, () -> true)).isTrue();
        schedule.ran(2 * S, false);
        assertThat(schedule.due(3 * S, false, false, () -> true)).isTrue();
        schedule.ran(3 * S, true);
        assertThat(schedule.due(4 * S, false, false, () -> true)).isFalse();
    }
}
