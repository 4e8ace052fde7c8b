package io.rehearsal.streams.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.streams.errors.DeadLetterReason;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The curator's meters (all named {@code rehearsal.curator.*}, so Prometheus shows
 * {@code rehearsal_curator_*}); docs/metrics.md lists them. Tags are bounded: {@code model}
 * (models of one deployment), {@code class} (a model's classes), {@code tier}, {@code kind},
 * {@code role}, {@code outcome}, {@code reason} (fixed sets).
 *
 * <p>The feedback and dead-letter counters are registered at 0 for every kind, outcome and reason when
 * this is created: a counter that first appears at 1 hides that first increment from PromQL's
 * {@code increase()}, and alert rules can rely on the series existing.
 *
 * <p>Gauges are kept per shard and summed, so several tasks in one instance report one value per model
 * and class; a task that closes ({@link #shardClosed}) stops contributing. Thread-safe.
 */
public final class CuratorMetrics {
    static final String PREFIX = "rehearsal.curator.";
    /** Feedback kinds, as the {@code kind} tag spells them. */
    public static final List<String> FEEDBACK_KINDS = List.of("label", "confirm", "reject");
    /** What becomes of a feedback record, as the {@code outcome} tag spells it. */
    public static final List<String> FEEDBACK_OUTCOMES =
            List.of("applied", "pending", "superseded", "expired", "overflow", "invalid", "rejected-sample");
    /** The curator's input topics, as the {@code input} tag spells them. */
    public static final List<String> INPUTS = List.of("samples", "feedback");

    private final MeterRegistry registry;
    private final Map<GaugeKey, Map<Integer, Long>> gauges = new ConcurrentHashMap<>();
    private final Map<RecallKey, RecallMeters> recallMeters = new ConcurrentHashMap<>();

    private record GaugeKey(String name, String model, String extra) {
    }

    public CuratorMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        for (String kind : FEEDBACK_KINDS) {
            for (String outcome : FEEDBACK_OUTCOMES) {
                feedbackCounter(kind, outcome);
            }
        }
        for (DeadLetterReason reason : DeadLetterReason.values()) {
            deadLetterCounter(reason.name());
        }
        for (RecordDecodeException.Reason reason : RecordDecodeException.Reason.values()) {
            deadLetterCounter(reason.name());
        }
        for (String input : INPUTS) {
            reroutedCounter(input);
        }
    }

    /** Meters kept in a private registry nobody reads. */
    public static CuratorMetrics discarding() {
        return new CuratorMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    // ---- gauges (per shard, summed) ----

    /** Long-term buffer occupancy of one class. */
    public void occupancy(int shard, String model, int cls, int value) {
        gauge(new GaugeKey("buffer.occupancy", model, Integer.toString(cls)), "Samples the long-term buffer holds, per model and class",
                k -> Tags.of("model", model, "class", k.extra()), shard, value);
    }

    public void shortTermSize(int shard, String model, int value) {
        gauge(new GaugeKey("short.term.size", model, ""), "Samples in the short-term store (labeled and unlabeled)",
                k -> Tags.of("model", model), shard, value);
    }

    public void freshWaiting(int shard, String model, int value) {
        gauge(new GaugeKey("fresh.waiting", model, ""), "Fresh samples waiting for the next batch",
                k -> Tags.of("model", model), shard, value);
    }

    public void evalSetSize(int shard, String model, int value) {
        gauge(new GaugeKey("eval.set.size", model, ""), "Held-out samples in the eval set",
                k -> Tags.of("model", model), shard, value);
    }

    /** Due-queue depth: entries due but not taken by the last batch (capped by the scan limit). */
    public void dueBacklog(int shard, String model, String tier, int value) {
        gauge(new GaugeKey("due.backlog", model, tier), "Recall entries due but not taken by the last batch",
                k -> Tags.of("model", model, "tier", tier), shard, value);
    }

    public void pendingFeedback(int shard, int value) {
        gauge(new GaugeKey("feedback.pending", "", ""), "Feedback waiting for its sample", k -> Tags.empty(), shard, value);
    }

    /** Forgets a shard's gauge values (its task closed or moved). */
    public void shardClosed(int shard) {
        gauges.values().forEach(perShard -> perShard.remove(shard));
    }

    // ---- counters and distributions ----

    public void sample(String model, String split) {
        counter("samples", "Samples accepted, by split (train, eval, request)", Tags.of("model", model, "split", split)).increment();
    }

    /** One recalled item: its tier, its recall count before this recall, the steps since its last visit and its lateness. */
    public void recalled(String model, String tier, int recallCount, long interval, long lateness) {
        RecallMeters m = recallMeters.computeIfAbsent(new RecallKey(model, tier), this::recallMeters);
        m.recalls().increment();
        m.priorRecalls().record(recallCount);
        m.interval().record(interval);
        m.lateness().record(lateness);
    }

    /** The meters of one model and tier, registered once: a batch recalls about a hundred items. */
    private record RecallMeters(Counter recalls, DistributionSummary priorRecalls, DistributionSummary interval,
                                DistributionSummary lateness) {
    }

    private record RecallKey(String model, String tier) {
    }

    private RecallMeters recallMeters(RecallKey key) {
        Tags tags = Tags.of("model", key.model(), "tier", key.tier());
        return new RecallMeters(
                counter("recalls", "Items recalled from memory", tags),
                DistributionSummary.builder(PREFIX + "recall.prior.recalls").description("Recalls a recalled item had before this one")
                        .tags(tags).publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(64.0)
                        .register(registry),
                DistributionSummary.builder(PREFIX + "recall.interval").description("Steps between a recall and the item's previous visit")
                        .baseUnit("steps").tags(tags).publishPercentileHistogram().minimumExpectedValue(1.0)
                        .maximumExpectedValue(100_000.0).register(registry),
                DistributionSummary.builder(PREFIX + "due.lateness").description("Steps between a recall being due and taken")
                        .baseUnit("steps").tags(tags).publishPercentileHistogram().minimumExpectedValue(1.0)
                        .maximumExpectedValue(100_000.0).register(registry));
    }

    /** One emitted batch: its kind and its fresh and recalled view groups. */
    public void batch(String model, String kind, int fresh, int recalled) {
        counter("batches", "Batches emitted, by kind (train, eval)", Tags.of("model", model, "kind", kind)).increment();
        if (kind.equals("train")) {
            items(model, "fresh", fresh);
            items(model, "recall", recalled);
        }
    }

    /**
     * Overload: a TRAIN batch composed of fresh samples only (the shard was behind its input by more than
     * {@code freshOnlyLag}); {@code fresh} samples had their fresh visit in it, and no recall was scheduled.
     */
    public void freshOnly(String model, int fresh) {
        counter("overload.batches", "TRAIN batches composed of fresh samples only, with no recall, because the shard's "
                + "input lagged the wall clock by more than --fresh-only-lag", Tags.of("model", model)).increment();
        counter("overload.samples", "Fresh samples composed into fresh-only batches (overload)", Tags.of("model", model))
                .increment(fresh);
    }

    /** One feedback record and what became of it (applied, pending, superseded, expired, rejected-sample, overflow, invalid). */
    public void feedback(String kind, String outcome) {
        feedbackCounter(kind, outcome).increment();
    }

    public void deadLetter(String reason) {
        deadLetterCounter(reason).increment();
    }

    /**
     * One input record read on a partition other than its sample id's and forwarded to the reroute topic
     * (written by a client with another default partitioner).
     */
    public void rerouted(String input) {
        reroutedCounter(input).increment();
    }

    /** One sample's features written to the features topic: {@code bytes} of feature data. */
    public void featuresWritten(String model, int bytes) {
        counter("features.written", "Samples whose features were written to the features topic (once per sample)",
                Tags.of("model", model)).increment();
        counter("features.bytes", "Bytes of feature data written to the features topic", Tags.of("model", model))
                .increment(bytes);
    }

    /**
     * A record Kafka refused to take (e.g. larger than its topic's limit), skipped so that the curator goes
     * on; {@code topic} is one of the curator's output topic kinds (bounded).
     */
    public void writeSkipped(String topic, String error) {
        counter("writes.skipped", "Records the curator could not write and skipped, by output and error",
                Tags.of("output", topic, "error", error)).increment();
    }

    /**
     * A write Kafka failed with a retriable error (the broker slow or between leaders past the producer's own
     * retries): the task is processed again from its last commit instead of failing the curator.
     */
    public void writeRetried(String output) {
        counter("writes.retried", "Writes that failed with a retriable broker error and were retried by processing the "
                + "task again from its last commit, by output", Tags.of("output", output)).increment();
    }

    /** A stream thread that died of a transient broker fault and was replaced; {@code cause} is from a fixed set. */
    public void threadReplaced(String cause) {
        threadReplacementsMeter(cause).increment();
    }

    /** The counter of {@link #threadReplaced} (registers it at 0). */
    public Counter threadReplacementsMeter(String cause) {
        return counter("thread.replacements", "Stream threads that died of a transient broker fault and were replaced, "
                + "by cause", Tags.of("cause", cause));
    }

    private Counter reroutedCounter(String input) {
        return counter("rerouted", "Input records moved to the shard of their sample id (written with another partitioner)",
                Tags.of("input", input));
    }

    private Counter feedbackCounter(String kind, String outcome) {
        return counter("feedback", "Feedback records by kind and outcome", Tags.of("kind", kind, "outcome", outcome));
    }

    private Counter deadLetterCounter(String reason) {
        return counter("dead.letters", "Inputs sent to the dead-letter topic, by reason", Tags.of("reason", reason));
    }

    private void items(String model, String role, int n) {
        DistributionSummary.builder(PREFIX + "batch.items").description("View groups per TRAIN batch, by role (fresh, recall)")
                .tags(Tags.of("model", model, "role", role)).register(registry).record(n);
    }

    private Counter counter(String name, String description, Tags tags) {
        return Counter.builder(PREFIX + name).description(description).tags(tags).register(registry);
    }

    private void gauge(GaugeKey key, String description, java.util.function.Function<GaugeKey, Tags> tags, int shard, long value) {
        Map<Integer, Long> perShard = gauges.get(key);
        if (perShard == null) {
            perShard = gauges.computeIfAbsent(key, k -> {
                Map<Integer, Long> m = new ConcurrentHashMap<>();
                Gauge.builder(PREFIX + k.name(), m, values -> values.values().stream().mapToLong(Long::longValue).sum())
                        .description(description).tags(tags.apply(k)).strongReference(true).register(registry);
                return m;
            });
        }
        perShard.put(shard, value);
    }
}
