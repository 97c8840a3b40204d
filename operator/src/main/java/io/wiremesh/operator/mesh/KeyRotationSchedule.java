package io.wiremesh.operator.mesh;

import io.wiremesh.api.v1alpha1.WireGuardNode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

/**
 * Which node of a mesh gets a new WireGuard key now (spec.keyRotation.interval): among the nodes that
 * are selected and report Ready, the one whose key is oldest, once it is older than the interval. The
 * key's age runs from the later of status.keyCreationTime (the node's clock) and the operator's own
 * request ({@link #REQUESTED}, the operator's clock), so a node with a clock behind is not rotated
 * again and again. One node of the mesh at a time: a node is rotating from the request until its
 * status reports the generation asked; one that has not after {@link #STUCK_AFTER} (powered off,
 * its daemon failing) no longer holds the others back and is not asked again until it answers. Pure;
 * the reconciler raises the generation, sets {@link #REQUESTED} and comes back at {@code recheckAfter}.
 *
 * @param rotate       WireGuardNode names whose spec.keyGeneration is to be raised now
 * @param recheckAfter when the next key falls due (or a rotation in progress is looked at again); null: never
 */
public record KeyRotationSchedule(List<String> rotate, Duration recheckAfter) {
    /** Annotation on a WireGuardNode: when the operator last asked it for a new key (RFC 3339). */
    public static final String REQUESTED = "wiremesh.io/key-rotation-requested";
    /** How often a rotation in progress is looked at again (the node's status change also triggers a pass). */
    static final Duration IN_PROGRESS_RECHECK = Duration.ofSeconds(30);
    /** A rotation not done after this long is stuck: it no longer blocks the other nodes. */
    static final Duration STUCK_AFTER = Duration.ofMinutes(10);

    /**
     * @param interval the mesh's rotation interval, or null when rotation is off
     * @param members  the mesh's WireGuardNodes
     * @param eligible whether a member may be asked now (selected, reports Ready)
     */
    public static KeyRotationSchedule of(Duration interval, List<WireGuardNode> members, Predicate<WireGuardNode> eligible, Instant now) {
        if (interval == null) return new KeyRotationSchedule(List.of(), null);
        record Key(String name, Instant since) {}
        List<Key> due = new ArrayList<>();
        Duration next = null;
        boolean inProgress = false;
        for (WireGuardNode m : members) {
            if (m.getSpec() == null || m.getStatus() == null || m.getStatus().keyGeneration == null) continue; // not published yet
            long asked = m.getSpec().keyGeneration == null ? 1 : m.getSpec().keyGeneration;
            Instant requested = time(m.getMetadata().getAnnotations() == null ? null : m.getMetadata().getAnnotations().get(REQUESTED));
            if (asked > m.getStatus().keyGeneration) {
                // Asked and not answered: in progress, or stuck (then it waits for the node, holding no one back).
                if (requested == null || Duration.between(requested, now).compareTo(STUCK_AFTER) < 0) inProgress = true;
                continue;
            }
            Instant created = time(m.getStatus().keyCreationTime);
            if (created == null || !eligible.test(m)) continue; // a daemon that does not report its key's age is never rotated
            Instant since = requested != null && requested.isAfter(created) ? requested : created;
            Duration left = Duration.between(now, since.plus(interval));
            if (left.isNegative() || left.isZero()) due.add(new Key(m.getMetadata().getName(), since));
            else if (next == null || left.compareTo(next) < 0) next = left;
        }
        if (inProgress) return new KeyRotationSchedule(List.of(), IN_PROGRESS_RECHECK);
        if (due.isEmpty()) return new KeyRotationSchedule(List.of(), next);
        due.sort(Comparator.comparing(Key::since).thenComparing(Key::name));
        return new KeyRotationSchedule(List.of(due.getFirst().name()), IN_PROGRESS_RECHECK);
    }

    /**
     * The generation to ask of {@code m}: one above both what its spec asks and what its key answers (a
     * WireGuardNode made anew for a node whose disk kept a later generation goes straight past it).
     */
    public static long nextGeneration(WireGuardNode m) {
        long asked = m.getSpec().keyGeneration == null ? 1 : m.getSpec().keyGeneration;
        long published = m.getStatus() == null || m.getStatus().keyGeneration == null ? 0 : m.getStatus().keyGeneration;
        // A status is the node's (or anyone with the node credentials') word: a generation at the schema's bound is ignored.
        if (published >= io.wiremesh.api.v1alpha1.Formats.MAX_GENERATION) published = 0;
        return Math.min(Math.max(asked, published) + 1, io.wiremesh.api.v1alpha1.Formats.MAX_GENERATION);
    }

    private static Instant time(String rfc3339) {
        try {
            return rfc3339 == null ? null : Instant.parse(rfc3339);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
