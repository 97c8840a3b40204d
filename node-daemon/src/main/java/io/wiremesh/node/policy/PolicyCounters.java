package io.wiremesh.node.policy;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The policy table's drop counters as totals since the daemon started. The table's named counters start again at 0
 * whenever the table is replaced, and a pod's chain name moves with the plan; so the counters are read just before
 * each replacement and what they grew by is added to the totals of the pods that owned them.
 */
public final class PolicyCounters {
    /** Source of the table's counters as nft's JSON. */
    interface Source {
        String read() throws IOException;
    }

    /** A pod and direction ("ingress", "egress"). */
    public record PodDirection(String namespace, String pod, String direction) {}

    /**
     * Totals: packets dropped per isolated pod and direction, and those dropped as sent from another address.
     *
     * @param readFailure why the last read failed (null: it did not)
     */
    public record Totals(Map<PodDirection, Long> denied, long spoofed, String readFailure) {}

    private final Source source;
    private Map<String, PolicyPlan.PodChain> owners = Map.of();
    /** Counter name -> packets as last read (from the current table). */
    private final Map<String, Long> seen = new HashMap<>();
    private final Map<PodDirection, Long> denied = new HashMap<>();
    private long spoofed;
    private String readFailure;

    PolicyCounters(Source source) {
        this.source = source;
    }

    /** Adds what the current table's counters grew by since the last read. */
    void read() {
        Map<String, Long> now;
        try {
            now = parse(source.read());
            readFailure = null;
        } catch (IOException | RuntimeException e) {
            readFailure = e.getMessage();
            return;
        }
        for (var e : now.entrySet()) {
            long grew = e.getValue() - seen.getOrDefault(e.getKey(), 0L);
            seen.put(e.getKey(), e.getValue());
            if (grew <= 0) continue;
            if (e.getKey().equals(PolicyTable.SPOOFED)) {
                spoofed += grew;
                continue;
            }
            PolicyPlan.PodChain owner = owners.get(e.getKey());
            if (owner != null) denied.merge(new PodDirection(owner.namespace(), owner.pod(), owner.direction()), grew, Long::sum);
        }
    }

    /** The table was replaced: its counters start at 0, owned by the new plan's pods. */
    void replaced(Map<String, PolicyPlan.PodChain> podChains) {
        seen.clear();
        owners = Map.copyOf(podChains);
    }

    Totals totals() {
        return new Totals(Map.copyOf(denied), spoofed, readFailure);
    }

    /** {"nftables": [{"metainfo": ...}, {"counter": {"name": ..., "packets": N, ...}}, ...]} -> name -> packets. */
    static Map<String, Long> parse(String json) throws IOException {
        Map<String, Long> out = new HashMap<>();
        Object items = JSON.std.mapFrom(json).get("nftables");
        if (!(items instanceof List<?> list)) return out;
        for (Object item : list) {
            if (item instanceof Map<?, ?> m && m.get("counter") instanceof Map<?, ?> c && c.get("name") instanceof String name
                    && c.get("packets") instanceof Number packets) {
                out.put(name, packets.longValue());
            }
        }
        return out;
    }
}
