package io.wiremesh.operator.mesh;

import io.wiremesh.api.v1alpha1.WireGuardNode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which nodes of a mesh get a new WireGuard key now (spec.keyRotation.interval): a node whose key
 * (status.keyCreationTime) is older than the interval, one node of the mesh at a time: a node is
 * rotating from the moment its spec.keyGeneration is raised until its status reports that generation.
 * The oldest key goes first. Pure; the reconciler raises the generations and comes back at
 * {@code recheckAfter}.
 *
 * @param rotate       WireGuardNode names whose spec.keyGeneration is to be raised now
 * @param recheckAfter when the next key falls due (or a rotation in progress is looked at again); null: never
 */
public record KeyRotationSchedule(List<String> rotate, Duration recheckAfter) {
    /** How often a rotation in progress is looked at again (the node's status change also triggers a pass). */
    static final Duration IN_PROGRESS_RECHECK = Duration.ofSeconds(30);

    /**
     * @param interval the mesh's rotation interval, or null when rotation is off
     * @param members  the mesh's WireGuardNodes
     */
    public static KeyRotationSchedule of(Duration interval, List<WireGuardNode> members, Instant now) {
        if (interval == null) return new KeyRotationSchedule(List.of(), null);
        record Key(String name, Instant created) {}
        List<Key> due = new ArrayList<>();
        Duration next = null;
        boolean inProgress = false;
        for (WireGuardNode m : members) {
            if (m.getSpec() == null || m.getStatus() == null || m.getStatus().keyGeneration == null) continue; // not published yet
            long asked = m.getSpec().keyGeneration == null ? 1 : m.getSpec().keyGeneration;
            if (asked > m.getStatus().keyGeneration) {
                inProgress = true;
                continue;
            }
            Instant created = created(m);
            if (created == null) continue; // a node-daemon that does not report its key's age is never rotated
            Duration left = Duration.between(now, created.plus(interval));
            if (left.isNegative() || left.isZero()) due.add(new Key(m.getMetadata().getName(), created));
            else if (next == null || left.compareTo(next) < 0) next = left;
        }
        if (inProgress) return new KeyRotationSchedule(List.of(), IN_PROGRESS_RECHECK);
        if (due.isEmpty()) return new KeyRotationSchedule(List.of(), next);
        due.sort(Comparator.comparing(Key::created).thenComparing(Key::name));
        return new KeyRotationSchedule(List.of(due.getFirst().name()), IN_PROGRESS_RECHECK);
    }

    private static Instant created(WireGuardNode m) {
        try {
            return m.getStatus().keyCreationTime == null ? null : Instant.parse(m.getStatus().keyCreationTime);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
