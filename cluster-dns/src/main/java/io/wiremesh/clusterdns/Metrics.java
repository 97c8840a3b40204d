package io.wiremesh.clusterdns;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.xbill.DNS.Rcode;

/**
 * The server's counters, rendered in the Prometheus text exposition format (version 0.0.4) by Micrometer's
 * Prometheus registry, on {@code /metrics} (Micrometer adds {@code _total} to a counter's name):
 * <pre>
 *   wiremesh_dns_requests_total{transport="udp|tcp"}   requests received
 *   wiremesh_dns_responses_total{rcode="NOERROR|..."}  responses sent, by response code (a code appears once sent)
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
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<Exchange.Transport, Counter> requests = new EnumMap<>(Exchange.Transport.class);
    private final Map<Integer, Counter> responses = new ConcurrentHashMap<>();
    private final Counter truncated, dropped, forwarded, forwardFailures, rebuilds;
    private final AtomicLong services = new AtomicLong(), records = new AtomicLong();

    /** Registers every meter at zero, but the responses': a response code's series appears once one is sent. */
    public Metrics() {
        for (Exchange.Transport t : Exchange.Transport.values()) {
            requests.put(t, Counter.builder("wiremesh.dns.requests").description("DNS requests received")
                    .tag("transport", t.name().toLowerCase()).register(registry));
        }
        truncated = counter("wiremesh.dns.truncated", "DNS responses sent with TC set");
        dropped = counter("wiremesh.dns.dropped", "DNS requests not answered (malformed header, or a response)");
        forwarded = counter("wiremesh.dns.forwarded", "Questions sent to upstream servers");
        forwardFailures = counter("wiremesh.dns.forward.failures", "Questions no upstream server answered");
        rebuilds = counter("wiremesh.dns.zone.rebuilds", "Zones built from the Service and Endpoints caches");
        Gauge.builder("wiremesh.dns.zone.services", services, AtomicLong::get).description("Services in the current zone")
                .strongReference(true).register(registry);
        Gauge.builder("wiremesh.dns.zone.records", records, AtomicLong::get).description("Records in the current zone")
                .strongReference(true).register(registry);
    }

    private Counter counter(String name, String help) {
        return Counter.builder(name).description(help).register(registry);
    }

    void request(Exchange.Transport t) {
        requests.get(t).increment();
    }

    void response(int rcode, boolean tc) {
        responses.computeIfAbsent(rcode, k -> Counter.builder("wiremesh.dns.responses")
                .description("DNS responses sent, by response code").tag("rcode", Rcode.string(k)).register(registry)).increment();
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

    /** The counters as Prometheus text (format 0.0.4). */
    public String render() {
        return registry.scrape();
    }
}
