package io.wiremesh.operator.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which node gets a new WireGuard key when: oldest first, one at a time, only past the interval. */
class KeyRotationScheduleTest {
    static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
    static final Duration MONTH = Duration.ofHours(720);

    static WireGuardNode member(String name, long asked, Long published, String created) {
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName(name).build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().keyGeneration = asked;
        if (published != null) {
            w.setStatus(new WireGuardNodeStatus());
            w.getStatus().keyGeneration = published;
            w.getStatus().keyCreationTime = created;
        }
        return w;
    }

    @Test
    void offMeansNeverAndNoRecheck() {
        var s = KeyRotationSchedule.of(null, List.of(member("m.a", 1, 1L, "2020-01-01T00:00:00Z")), x -> true, NOW);
        assertThat(s.rotate()).isEmpty();
        assertThat(s.recheckAfter()).isNull();
    }

    @Test
    void theOldestKeyPastTheIntervalGoesFirstAndAlone() {
        var s = KeyRotationSchedule.of(MONTH, List.of(
                member("m.a", 1, 1L, "2026-10-20T00:00:00Z"),
                member("m.b", 3, 3L, "2026-10-01T00:00:00Z"),
                member("m.c", 1, 1L, "2026-11-29T00:00:00Z")), x -> true, NOW);
        assertThat(s.rotate()).containsExactly("m.b");
        assertThat(s.recheckAfter()).isEqualTo(KeyRotationSchedule.IN_PROGRESS_RECHECK);
    }

    @Test
    void nothingStartsWhileARotationIsInProgress() {
        var s = KeyRotationSchedule.of(MONTH, List.of(
                member("m.a", 2, 1L, "2026-10-20T00:00:00Z"),
                member("m.b", 3, 3L, "2026-10-01T00:00:00Z")), x -> true, NOW);
        assertThat(s.rotate()).isEmpty();
        assertThat(s.recheckAfter()).isEqualTo(KeyRotationSchedule.IN_PROGRESS_RECHECK);
    }

    @Test
    void beforeTheIntervalTheNextCheckIsWhenTheFirstKeyFallsDue() {
        var s = KeyRotationSchedule.of(MONTH, List.of(
                member("m.a", 1, 1L, "2026-11-29T12:00:00Z"),
                member("m.b", 1, 1L, "2026-11-20T12:00:00Z")), x -> true, NOW);
        assertThat(s.rotate()).isEmpty();
        assertThat(s.recheckAfter()).isEqualTo(Duration.ofDays(20));
    }

    @Test
    void onlyEligibleNodesAreAskedAndAStuckRotationHoldsNoOneBack() {
        WireGuardNode stuck = member("m.a", 2, 1L, "2026-10-01T00:00:00Z");
        stuck.getMetadata().setAnnotations(java.util.Map.of(KeyRotationSchedule.REQUESTED, "2026-11-30T11:00:00Z"));
        WireGuardNode down = member("m.b", 1, 1L, "2026-10-02T00:00:00Z");
        WireGuardNode up = member("m.c", 1, 1L, "2026-10-03T00:00:00Z");
        var s = KeyRotationSchedule.of(MONTH, List.of(stuck, down, up), m -> !m.getMetadata().getName().equals("m.b"), NOW);
        assertThat(s.rotate()).as("m.a stuck for an hour, m.b not ready").containsExactly("m.c");
        stuck.getMetadata().setAnnotations(java.util.Map.of(KeyRotationSchedule.REQUESTED, "2026-11-30T11:55:00Z"));
        assertThat(KeyRotationSchedule.of(MONTH, List.of(stuck, down, up), m -> true, NOW).rotate()).as("in progress").isEmpty();
    }

    @Test
    void theOperatorsOwnRequestTimeCountsWhenTheNodesClockIsBehind() {
        WireGuardNode m = member("m.a", 2, 2L, "2026-10-01T00:00:00Z"); // the node's clock says its new key is two months old
        m.getMetadata().setAnnotations(java.util.Map.of(KeyRotationSchedule.REQUESTED, "2026-11-30T11:00:00Z"));
        var s = KeyRotationSchedule.of(MONTH, List.of(m), x -> true, NOW);
        assertThat(s.rotate()).isEmpty();
        assertThat(s.recheckAfter()).isEqualTo(MONTH.minusHours(1));
    }

    @Test
    void theNextGenerationGoesPastWhatTheKeyAlreadyAnswers() {
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", 1, 7L, "2026-10-01T00:00:00Z"))).as("made anew, disk at 7").isEqualTo(8);
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", 3, 3L, "2026-10-01T00:00:00Z"))).isEqualTo(4);
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", 1, null, null))).isEqualTo(2);
        // A status claiming the largest generation (anyone with node credentials can write it) neither overflows nor sticks.
        long max = io.wiremesh.api.v1alpha1.Formats.MAX_GENERATION;
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", 3, max, "1970-01-01T00:00:00Z"))).isEqualTo(4);
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", 3, Long.MAX_VALUE, null))).isEqualTo(4);
        assertThat(KeyRotationSchedule.nextGeneration(member("m.a", max, max - 1, null))).isEqualTo(max);
    }

    @Test
    void unpublishedOrUndatedKeysAreLeftAlone() {
        var s = KeyRotationSchedule.of(MONTH, List.of(member("m.a", 1, null, null), member("m.b", 1, 1L, null),
                member("m.c", 1, 1L, "not a time")), x -> true, NOW);
        assertThat(s.rotate()).isEmpty();
        assertThat(s.recheckAfter()).isNull();
    }
}
