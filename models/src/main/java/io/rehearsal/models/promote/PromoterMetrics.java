package io.rehearsal.models.promote;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.rehearsal.schemas.avro.CheckScope;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.PolicyCheck;
import io.rehearsal.schemas.avro.PromotionAction;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The promoter's Micrometer meters, named {@code rehearsal.promoter.*} and tagged {@code model}. Task labels
 * are bounded: at most {@value #MAX_TASKS} tasks get gauges. See docs/metrics.md.
 */
final class PromoterMetrics {
    static final int MAX_TASKS = 64;

    /** What the gauges read: the newest committed state and evaluations. */
    private record Snapshot(long promoted, long latest, boolean pinned, Optional<Instant> heldBackSince, double candidate,
                            double promotedAccuracy, int samples) {
    }

    private final MeterRegistry registry;
    private final Tags tags;
    private final Clock clock;
    private final AtomicReference<Snapshot> state = new AtomicReference<>(
            new Snapshot(0, 0, false, Optional.empty(), Double.NaN, Double.NaN, 0));
    private final Map<PromotionAction, Counter> decisions = new EnumMap<>(PromotionAction.class);
    private final Map<CheckScope, Counter> failedChecks = new EnumMap<>(CheckScope.class);
    private final Map<String, double[]> taskAccuracy = new ConcurrentHashMap<>();
    private final Timer evaluation;

    PromoterMetrics(MeterRegistry registry, String modelId, Clock clock) {
        this.registry = registry;
        this.tags = Tags.of("model", modelId);
        this.clock = clock;
        Gauge.builder("rehearsal.promoter.promoted.version", state, s -> s.get().promoted())
                .description("Version services serve (0: none promoted yet)").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.latest.version", state, s -> s.get().latest())
                .description("Newest candidate version the promoter has seen").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.versions.behind", state, s -> Math.max(0, s.get().latest() - s.get().promoted()))
                .description("Candidate versions newer than the promoted one").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.pinned", state, s -> s.get().pinned() ? 1 : 0)
                .description("1 while an operator holds the promoted version").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.held.back", state, s -> s.get().heldBackSince()
                        .map(t -> Math.max(0, clock.millis() - t.toEpochMilli()) / 1000.0).orElse(0.0))
                .description("Seconds since the first candidate refused or held after the last promotion (0: not held back)")
                .baseUnit("seconds").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.candidate.accuracy", state, s -> s.get().candidate())
                .description("Held-out accuracy of the last candidate evaluated").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.promoted.accuracy", state, s -> s.get().promotedAccuracy())
                .description("Held-out accuracy of the promoted version on the same samples").tags(tags).register(registry);
        Gauge.builder("rehearsal.promoter.heldout.samples", state, s -> s.get().samples())
                .description("Held-out samples the last candidate was evaluated on").tags(tags).register(registry);
        for (PromotionAction a : PromotionAction.values()) {
            decisions.put(a, Counter.builder("rehearsal.promoter.decisions").description("Promotion records written, by action")
                    .tags(tags).tag("action", a.name()).register(registry));
        }
        for (CheckScope s : CheckScope.values()) {
            failedChecks.put(s, Counter.builder("rehearsal.promoter.checks.failed")
                    .description("Policy checks failed by candidates, by scope (overall, task, class, samples)")
                    .tags(tags).tag("scope", s.name()).register(registry));
        }
        evaluation = Timer.builder("rehearsal.promoter.evaluation.time")
                .description("Time to load a candidate and evaluate it (and the promoted version) on the held-out samples")
                .tags(tags).publishPercentiles(0.5, 0.99).register(registry);
    }

    void state(ReleaseLedger ledger) {
        state.updateAndGet(s -> new Snapshot(ledger.promotedVersion(), ledger.latestVersion(), ledger.pinned(),
                ledger.heldBackSince(), s.candidate(), s.promotedAccuracy(), s.samples()));
    }

    void decided(PromotionAction action, Iterable<PolicyCheck> checks) {
        decisions.get(action).increment();
        for (PolicyCheck c : checks) {
            if (!c.getPassed()) {
                failedChecks.get(c.getScope()).increment();
            }
        }
    }

    void evaluated(Evaluation candidate, Optional<Evaluation> promoted, long nanos) {
        evaluation.record(nanos, TimeUnit.NANOSECONDS);
        state.updateAndGet(s -> new Snapshot(s.promoted(), s.latest(), s.pinned(), s.heldBackSince(), candidate.getAccuracy(),
                promoted.map(Evaluation::getAccuracy).orElse(Double.NaN), candidate.getSamples()));
        candidate.getByTask().forEach((task, score) -> task(task)[0] = score.getAccuracy());
        promoted.ifPresent(p -> p.getByTask().forEach((task, score) -> task(task)[1] = score.getAccuracy()));
    }

    private double[] task(String task) {
        double[] values = taskAccuracy.get(task);
        if (values != null || taskAccuracy.size() >= MAX_TASKS) {
            return values != null ? values : new double[2];
        }
        double[] fresh = {Double.NaN, Double.NaN};
        taskAccuracy.put(task, fresh);
        // both series carry the description: Prometheus' exposition takes a family's help text from one of them
        String description = "Held-out accuracy per task, of the last candidate evaluated (version=candidate) and of the "
                + "promoted version on the same samples (version=promoted)";
        Gauge.builder("rehearsal.promoter.task.accuracy", fresh, v -> v[0]).description(description)
                .tags(tags).tag("task", task).tag("version", "candidate").register(registry);
        Gauge.builder("rehearsal.promoter.task.accuracy", fresh, v -> v[1]).description(description)
                .tags(tags).tag("task", task).tag("version", "promoted").register(registry);
        return fresh;
    }
}
