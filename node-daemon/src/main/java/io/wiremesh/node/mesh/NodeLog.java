package io.wiremesh.node.mesh;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The node agent's log lines on stderr (the container log): a failure that repeats every second is
 * written once per distinct message, and its end once. Not thread-safe: one owner per instance.
 */
final class NodeLog {
    static final String PREFIX = "wiremesh node-daemon: ";
    private final Map<Object, String> last = new HashMap<>();

    /** A line, always. */
    void info(String message) {
        System.err.println(PREFIX + message);
    }

    /** {@code step} failed with {@code message}: written unless it is the step's last failure already. */
    void failed(Object step, String message) {
        if (Objects.equals(last.put(step, message), message)) return;
        System.err.println(PREFIX + step.toString().toLowerCase().replace('_', '-') + ": " + message + " (retried)");
    }

    /** Every step not in {@code failing} that had failed is resolved: said once. */
    void resolved(Set<?> failing) {
        for (var it = last.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey() instanceof String || failing.contains(e.getKey())) continue;
            System.err.println(PREFIX + e.getKey().toString().toLowerCase().replace('_', '-') + ": applied");
            it.remove();
        }
    }

    /** The message last written under {@code topic} or for a step (null: none). */
    String last(Object topic) {
        return last.get(topic);
    }

    /** A state under {@code topic} (null: none): written when it changes. */
    void once(String topic, String message) {
        String before = message == null ? last.remove(topic) : last.put(topic, message);
        if (message != null && !message.equals(before)) System.err.println(PREFIX + message);
    }
}
