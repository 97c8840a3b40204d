package io.wiremesh.operator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** Prometheus counters of the operator (served at /q/metrics). */
public final class OperatorMetrics {
    public final Counter reconciles;
    public final Counter errors;
    public final Counter allocations;
    public final Counter releases;

    public OperatorMetrics(MeterRegistry registry) {
        reconciles = Counter.builder("wiremesh.operator.reconciles").description("WireGuardMesh reconciliations").register(registry);
        errors = Counter.builder("wiremesh.operator.reconcile.errors").description("Reconciliations that failed").register(registry);
        allocations = Counter.builder("wiremesh.operator.blocks.allocated").description("Node blocks allocated").register(registry);
        releases = Counter.builder("wiremesh.operator.blocks.released").description("Node blocks released").register(registry);
    }
}
