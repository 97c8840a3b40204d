package io.wiremesh.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Kubernetes-style conditions: lastTransitionTime changes only when the status does. */
public final class Conditions {
    public static final String READY = "Ready";
    public static final String DEGRADED = "Degraded";

    private Conditions() {}

    public static Condition find(List<Condition> conditions, String type) {
        if (conditions == null) return null;
        for (Condition c : conditions) if (c != null && type.equals(c.getType())) return c;
        return null;
    }

    public static void set(List<Condition> conditions, String type, boolean status, String reason, String message, Long generation) {
        Condition old = find(conditions, type);
        String s = status ? "True" : "False";
        String since = old != null && Objects.equals(old.getStatus(), s) ? old.getLastTransitionTime() : Instant.now().toString();
        Condition c = new ConditionBuilder().withType(type).withStatus(s).withReason(reason).withMessage(message)
                .withObservedGeneration(generation).withLastTransitionTime(since).build();
        if (old != null) conditions.remove(old);
        conditions.removeIf(x -> x == null || x.getType() == null); // a status written by a node is untrusted input
        conditions.add(c);
        conditions.sort(java.util.Comparator.comparing(Condition::getType));
    }
}
