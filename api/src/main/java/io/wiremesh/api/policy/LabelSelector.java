package io.wiremesh.api.policy;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Kubernetes label selector (meta/v1 LabelSelector): every {@code matchLabels} pair and every
 * requirement must hold. An empty selector matches everything. Operators as the API defines them:
 * {@code In} and {@code NotIn} over a set of values (NotIn also matches objects without the key),
 * {@code Exists}, {@code DoesNotExist}.
 */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> expressions) {
    /** One matchExpressions entry; {@code operator} is one of In, NotIn, Exists, DoesNotExist. */
    public record Requirement(String key, String operator, Set<String> values) {
        public Requirement {
            values = Set.copyOf(values);
            if (!List.of("In", "NotIn", "Exists", "DoesNotExist").contains(operator)) {
                throw new IllegalArgumentException("label selector operator " + operator + " is not In, NotIn, Exists or DoesNotExist");
            }
        }

        boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (operator) {
                case "In" -> v != null && values.contains(v);
                case "NotIn" -> v == null || !values.contains(v);
                case "Exists" -> v != null;
                default -> v == null;
            };
        }
    }

    /** The selector that matches everything ({@code {}}). */
    public static final LabelSelector ALL = new LabelSelector(Map.of(), List.of());

    public LabelSelector {
        matchLabels = Map.copyOf(matchLabels);
        expressions = List.copyOf(expressions);
    }

    /** Whether an object with {@code labels} is selected. */
    public boolean matches(Map<String, String> labels) {
        for (var e : matchLabels.entrySet()) if (!e.getValue().equals(labels.get(e.getKey()))) return false;
        for (Requirement r : expressions) if (!r.matches(labels)) return false;
        return true;
    }

    /** {@code matchLabels} only. */
    public static LabelSelector of(Map<String, String> matchLabels) {
        return new LabelSelector(matchLabels, List.of());
    }

    /**
     * From the API's object; null stays null (callers give an absent selector its meaning).
     *
     * @throws IllegalArgumentException for an operator the API does not define
     */
    public static LabelSelector from(io.fabric8.kubernetes.api.model.LabelSelector s) {
        if (s == null) return null;
        List<Requirement> reqs = s.getMatchExpressions() == null ? List.of() : s.getMatchExpressions().stream()
                .map(e -> new Requirement(e.getKey(), e.getOperator(), e.getValues() == null ? Set.of() : Set.copyOf(e.getValues())))
                .toList();
        return new LabelSelector(s.getMatchLabels() == null ? Map.of() : s.getMatchLabels(), reqs);
    }
}
