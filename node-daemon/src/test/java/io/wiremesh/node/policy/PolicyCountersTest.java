package io.wiremesh.node.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link PolicyCounters}: totals survive the table's replacement (its counters restart at 0, chain names move). */
class PolicyCountersTest {
    private static String json(long spoofed, String chain, long packets) {
        return "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\"}},"
                + " {\"counter\": {\"family\": \"inet\", \"name\": \"spoofed\", \"table\": \"wiremesh-policy\", \"handle\": 2, \"packets\": " + spoofed + ", \"bytes\": 0}},"
                + " {\"counter\": {\"family\": \"inet\", \"name\": \"" + chain + "\", \"table\": \"wiremesh-policy\", \"handle\": 3, \"packets\": " + packets + ", \"bytes\": 0}}]}";
    }

    @Test
    void totalsAddUpAcrossReplacedTables() {
        AtomicReference<String> kernel = new AtomicReference<>(json(0, "pod0-in", 0));
        PolicyCounters c = new PolicyCounters(kernel::get);
        c.replaced(Map.of("pod0-in", new PolicyPlan.PodChain("a", "web", "ingress", List.of("pol0-in"))));
        kernel.set(json(2, "pod0-in", 5));
        c.read();
        kernel.set(json(3, "pod0-in", 7));
        c.read(); // just before a replacement
        // The new table: the same pod's chain is now pod1-in, counting from 0.
        c.replaced(Map.of("pod1-in", new PolicyPlan.PodChain("a", "web", "ingress", List.of("pol0-in"))));
        kernel.set(json(1, "pod1-in", 4));
        c.read();
        assertThat(c.totals().denied()).containsExactly(Map.entry(new PolicyCounters.PodDirection("a", "web", "ingress"), 11L));
        assertThat(c.totals().spoofed()).isEqualTo(4);
        assertThat(c.totals().readFailure()).isNull();
    }

    @Test
    void aFailedReadIsReportedAndChangesNothing() {
        PolicyCounters c = new PolicyCounters(() -> {
            throw new java.io.IOException("nft: no such table");
        });
        c.read();
        assertThat(c.totals().readFailure()).contains("no such table");
        assertThat(c.totals().denied()).isEmpty();
    }
}
