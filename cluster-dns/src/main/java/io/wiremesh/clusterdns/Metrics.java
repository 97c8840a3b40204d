package io.wiremesh.clusterdns;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.xbill.DNS.Rcode;

/**
 * The server's counters, in the Prometheus text exposition format (version 0.0.4) on {@code /metrics}:
 * <pre>
 *   wiremesh_dns_requests_total{transport="udp|tcp"}   requests received
 *   wiremesh_dns_responses_total{rcode="NOERROR|..."}  responses sent, by response code
 *   wiremesh_dns_truncated_total                       responses sent with TC set
 *   wiremesh_dns_dropped_total                         requests not answered (malformed header, responses)
 *   wiremesh_dns_forwarded_total                       questions sent upstream
 *   wiremesh_dns_forward_failures_total                of those, the ones no upstream answered
 *   wiremesh_dns_zone_rebuilds_total                   zones built from the informers' caches
 *   wiremesh_dns_zone_services                         Services in the current zone
 *   wiremesh_dns_zone_records                          records in the current zone
 * </pre>
 */
public final class Metrics {
    private final Map<Exchange.Transport, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final LongAdder truncated = new LongAdder(), dropped = new LongAdder(), forwarded = new LongAdder(),
            forwardFailures = new LongAdder(), rebuilds = new LongAdder();
    private final AtomicLong services = new AtomicLong(), records = new AtomicLong();

    void request(Exchange.Transport t) {
        requests.computeIfAbsent(t, k -> new LongAdder()).increment();
    }

    void response(int rcode, boolean tc) {
        responses.computeIfAbsent(rcode, k -> new LongAdder()).increment();
        if (tc) truncated.increment();
    }

    void dropped() {
        dropped.increment();
    }

    /** Counts a question sent upstream and whether an answer came back. */
    public void forwarded(boolean answered) {
        forwarded.increment();
        if (!answered) forwardFailures.increment();
    }

    /** Records a new zone. */
    public void zone(Zone z) {
        rebuilds.increment();
        services.set(z.serviceCount());
        records.set(z.recordCount());
    }

    /** The counters as Prometheus text. */
    public String render() {
        StringBuilder s = new StringBuilder();
        s.append("# HELP wiremesh_dns_requests_total DNS requests received.\n# TYPE wiremesh_dns_requests_total counter\n");
        for (Exchange.Transport t : Exchange.Transport.values()) {
            s.append("wiremesh_dns_requests_total{transport=\"").append(t.name().toLowerCase()).append("\"} ")
                    .append(requests.getOrDefault(t, new LongAdder()).sum()).append('\n');
        }
        s.append("# HELP wiremesh_dns_responses_total DNS responses sent, by response code.\n# TYPE wiremesh_dns_responses_total counter\n");
        responses.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> s.append("wiremesh_dns_responses_total{rcode=\"")
                .append(Rcode.string(e.getKey())).append("\"} ").append(e.getValue().sum()).append('\n'));
        counter(s, "wiremesh_dns_truncated_total", "DNS responses sent with TC set.", truncated.sum());
        counter(s, "wiremesh_dns_dropped_total", "DNS requests not answered (malformed header, or a response).", dropped.sum());
        counter(s, "wiremesh_dns_forwarded_total", "Questions sent to upstream servers.", forwarded.sum());
        counter(s, "wiremesh_dns_forward_failures_total", "Questions no upstream server answered.", forwardFailures.sum());
        counter(s, "wiremesh_dns_zone_rebuilds_total", "Zones built from the Service and Endpoints caches.", rebuilds.sum());
        gauge(s, "wiremesh_dns_zone_services", "Services in the current zone.", services.get());
        gauge(s, "wiremesh_dns_zone_records", "Records in the current zone.", records.get());
        return s.toString();
    }

    private static void counter(StringBuilder s, String name, String help, long v) {
        s.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder s, String name, String help, long v) {
        s.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v).append('\n');
    }
}
