package io.rehearsal.models.train;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's Micrometer meters, all named {@code rehearsal.trainer.*} and tagged {@code model}. See
 * docs/metrics.md for what each means and its Prometheus name.
 *
 * <p>Label values stay bounded: {@code class} is one of the model's classes, {@code task} one of the
 * first {@value #MAX_TASK_SERIES} tasks seen in held-out samples (later ones are evaluated but get no
 * series of their own, with one warning), {@code reason} one of the fixed rejection reasons, which are
 * all registered at 0 so that {@code increase()} sees the first rejection.
 */
public final class TrainerMetrics {
    /** Most {@code task} values {@code rehearsal.trainer.eval.task.accuracy} gets a series for. */
    public static final int MAX_TASK_SERIES = 64;
    /** Most fresh items whose sample-to-snapshot time one snapshot records (items beyond are not recorded). */
    static final int MAX_FRESH_PER_SNAPSHOT = 65_536;
    /**
     * The {@code reason} values of {@code rehearsal.trainer.steps.skipped}: the two of {@link NonFiniteStepException},
     * and {@value TrainerApp#NON_FINITE_WEIGHTS} and {@value TrainerApp#DIVERGED} for steps undone by a roll-back.
     */
    public static final java.util.List<String> SKIP_REASONS = java.util.List.of(NonFiniteStepException.LOSS,
            NonFiniteStepException.GRADIENT, TrainerApp.NON_FINITE_WEIGHTS, TrainerApp.DIVERGED);
    private static final Logger LOG = LoggerFactory.getLogger(TrainerMetrics.class);

    private final MeterRegistry registry;
    private final Tags tags;
    private final Clock clock;
    private final Counter steps;
    private final Counter samples;
    private final Counter freshCorrect;
    private final Counter freshWrong;
    private final Counter evalItems;
    private final Timer stepTime;
    private final Timer publishTime;
    private final DistributionSummary snapshotBytes;
    private final Timer sampleToSnapshot;
    private final Timer batchAge;
    private long[] freshEventMillis = new long[256];
    private int freshCount;
    private final AtomicLong lossCe = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    private final AtomicLong lossKl = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    private final AtomicLong lossTotal = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    private final AtomicLong lambda = new AtomicLong(Double.doubleToLongBits(0));
    private final AtomicLong samplesPerSecond = new AtomicLong(Double.doubleToLongBits(0));
    private final AtomicLong prequential = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    private final AtomicLong evalAccuracy = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    private final AtomicLong version = new AtomicLong();
    private final AtomicLong lastSnapshotMillis;
    private final Map<String, AtomicLong> evalByClass = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> evalByTask = new ConcurrentHashMap<>();
    private final AtomicBoolean taskCapWarned = new AtomicBoolean();

    public TrainerMetrics(MeterRegistry registry, String modelId, String device, Clock clock) {
        this.registry = registry;
        this.tags = Tags.of("model", modelId);
        this.clock = clock;
        this.lastSnapshotMillis = new AtomicLong(clock.millis());
        steps = Counter.builder("rehearsal.trainer.steps").description("Training steps (TRAIN batches) taken")
                .tags(tags).register(registry);
        samples = Counter.builder("rehearsal.trainer.samples").description("Views trained on")
                .tags(tags).register(registry);
        freshCorrect = Counter.builder("rehearsal.trainer.prequential.predictions")
                .description("Fresh items predicted before training on them").tags(tags).tag("outcome", "correct")
                .register(registry);
        freshWrong = Counter.builder("rehearsal.trainer.prequential.predictions")
                .description("Fresh items predicted before training on them").tags(tags).tag("outcome", "wrong")
                .register(registry);
        evalItems = Counter.builder("rehearsal.trainer.eval.items").description("Held-out items evaluated")
                .tags(tags).register(registry);
        stepTime = Timer.builder("rehearsal.trainer.step.time").description("Wall time of one training step")
                .tags(tags).publishPercentileHistogram().register(registry);
        publishTime = Timer.builder("rehearsal.trainer.snapshot.publish.time")
                .description("Time to publish one snapshot transaction").tags(tags).publishPercentileHistogram()
                .register(registry);
        snapshotBytes = DistributionSummary.builder("rehearsal.trainer.snapshot.size").baseUnit("bytes")
                .description("Parameter blob size of published snapshots").tags(tags).register(registry);
        sampleToSnapshot = Timer.builder("rehearsal.trainer.sample.to.snapshot")
                .description("From a fresh sample's event time to the first snapshot trained on it being published")
                .tags(tags).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(50))
                .maximumExpectedValue(Duration.ofHours(2)).register(registry);
        batchAge = Timer.builder("rehearsal.trainer.batch.age")
                .description("A batch's age when the trainer reads it (from its creation by the curator): the trainer's "
                        + "queue, what the overload policies decide on")
                .tags(tags).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofHours(2)).register(registry);
        for (String reason : InvalidBatchException.REASONS) {
            rejectedCounter(reason);
        }
        for (RecordDecodeException.Reason reason : RecordDecodeException.Reason.values()) {
            rejectedCounter(reason.name());
        }
        rejectedCounter(TrainerApp.NON_FINITE_WEIGHTS);
        rejectedCounter(TrainerApp.DIVERGED);
        for (String reason : SKIP_REASONS) {
            skippedStepsCounter(reason);
        }
        gauge("rehearsal.trainer.loss", "Loss of the last step", lossTotal, Tags.of("part", "total"));
        gauge("rehearsal.trainer.loss", "Loss of the last step", lossCe, Tags.of("part", "ce"));
        gauge("rehearsal.trainer.loss", "Loss of the last step", lossKl, Tags.of("part", "kl"));
        gauge("rehearsal.trainer.lambda", "Weight of the KL term in the last step", lambda, Tags.empty());
        gauge("rehearsal.trainer.samples.rate", "Views per second of the last step", samplesPerSecond, Tags.empty());
        gauge("rehearsal.trainer.prequential.accuracy", "Prequential accuracy since the previous snapshot",
                prequential, Tags.empty());
        gauge("rehearsal.trainer.eval.accuracy", "Accuracy over the latest result of every held-out sample",
                evalAccuracy, Tags.empty());
        Gauge.builder("rehearsal.trainer.snapshot.version", version, AtomicLong::get)
                .description("Version of the latest published snapshot").tags(tags).register(registry);
        Gauge.builder("rehearsal.trainer.snapshot.age", lastSnapshotMillis,
                        last -> (this.clock.millis() - last.get()) / 1000.0)
                .description("Seconds since the latest snapshot was published (or since start)").baseUnit("seconds")
                .tags(tags).register(registry);
        Gauge.builder("rehearsal.trainer.device.info", () -> 1).description("The device the trainer trains on")
                .tags(tags).tag("device", device).register(registry);
    }

    private void gauge(String name, String description, AtomicLong bits, Tags extra) {
        Gauge.builder(name, bits, b -> Double.longBitsToDouble(b.get())).description(description)
                .tags(tags).tags(extra).register(registry);
    }

    public void step(StepResult r) {
        steps.increment();
        samples.increment(r.views());
        stepTime.record(r.nanos(), TimeUnit.NANOSECONDS);
        freshCorrect.increment(r.freshCorrect());
        freshWrong.increment(r.freshItems() - r.freshCorrect());
        set(lossCe, r.crossEntropy());
        set(lossKl, r.consistency());
        set(lossTotal, r.loss());
        set(lambda, r.lambda());
        set(samplesPerSecond, r.views() / Math.max(1e-9, r.nanos() / 1e9));
    }

    public void evaluated(int items, EvalTracker evals) {
        evalItems.increment(items);
        set(evalAccuracy, evals.accuracy());
        evals.byClass().forEach((k, v) -> set(evalByClass.computeIfAbsent(k, key -> {
            AtomicLong bits = new AtomicLong();
            gauge("rehearsal.trainer.eval.class.accuracy", "Accuracy per class over the latest held-out results", bits,
                    Tags.of("class", key));
            return bits;
        }), v));
        evals.byTask().forEach((k, v) -> {
            AtomicLong bits = evalByTask.get(k);
            if (bits == null) {
                if (evalByTask.size() >= MAX_TASK_SERIES) {
                    if (taskCapWarned.compareAndSet(false, true)) {
                        LOG.warn("more than {} tasks in held-out samples: tasks after the first {} (e.g. {}) get no "
                                + "rehearsal.trainer.eval.task.accuracy series of their own", MAX_TASK_SERIES, MAX_TASK_SERIES, k);
                    }
                    return;
                }
                bits = evalByTask.computeIfAbsent(k, key -> {
                    AtomicLong b = new AtomicLong();
                    gauge("rehearsal.trainer.eval.task.accuracy", "Accuracy per task over the latest held-out results", b,
                            Tags.of("task", key));
                    return b;
                });
            }
            set(bits, v);
        });
    }

    /**
     * Notes the event times of a TRAIN batch's fresh items; the next {@link #published} records, for
     * each, the time from its event to that snapshot (the trainer's share of model freshness). Called on the
     * trainer's thread, like {@link #published}.
     */
    public void trained(TrainBatch batch) {
        for (TrainItem item : batch.getItems()) {
            if (item.getRole() == ItemRole.FRESH && freshCount < MAX_FRESH_PER_SNAPSHOT) {
                if (freshCount == freshEventMillis.length) {
                    freshEventMillis = Arrays.copyOf(freshEventMillis, freshCount * 2);
                }
                freshEventMillis[freshCount++] = item.getEventTime().toEpochMilli();
            }
        }
    }

    public void published(long snapshotVersion, long blobBytes, long nanos, double prequentialAccuracy) {
        version.set(snapshotVersion);
        snapshotBytes.record(blobBytes);
        publishTime.record(nanos, TimeUnit.NANOSECONDS);
        long now = clock.millis();
        lastSnapshotMillis.set(now);
        set(prequential, prequentialAccuracy);
        for (int i = 0; i < freshCount; i++) {
            sampleToSnapshot.record(Math.max(0, now - freshEventMillis[i]), TimeUnit.MILLISECONDS);
        }
        freshCount = 0;
    }

    /** A loaded snapshot counts as the latest published one. */
    public void resumed(long snapshotVersion) {
        version.set(snapshotVersion);
    }

    public void rejected(String reason) {
        rejectedCounter(reason).increment();
    }

    private Counter rejectedCounter(String reason) {
        return Counter.builder("rehearsal.trainer.batches.rejected").description("Batches refused and sent to dead letters")
                .tags(tags).tag("reason", reason).register(registry);
    }

    /**
     * Counts the steps {@code trainer} computed a second time because their gradients were not finite from a finite
     * loss ({@link ContinualTrainer#recomputedSteps}): a sign of the TorchScript backward pass's occasional NaN (issue 18).
     */
    public void watchRecomputedSteps(ContinualTrainer trainer) {
        FunctionCounter.builder("rehearsal.trainer.steps.recomputed", trainer, t -> t.recomputedSteps())
                .description("Training steps computed again because their gradients were not finite from a finite loss")
                .tags(tags).register(registry);
    }

    /** {@code steps} training steps not applied (or undone) for {@code reason}, one of {@link #SKIP_REASONS}. */
    public void stepsSkipped(String reason, long steps) {
        skippedStepsCounter(reason).increment(steps);
    }

    private Counter skippedStepsCounter(String reason) {
        return Counter.builder("rehearsal.trainer.steps.skipped")
                .description("Training steps not applied because their loss, gradients or resulting weights were not finite")
                .tags(tags).tag("reason", reason).register(registry);
    }

    /**
     * A TRAIN batch shed under overload (older than the maximum batch age): its items, by role, were not trained
     * this time (fresh samples stay in the curator's buffer and come back as recalls).
     */
    public void shed(TrainBatch batch) {
        Counter.builder("rehearsal.trainer.batches.shed").description("TRAIN batches not trained: older than the maximum "
                + "batch age when read (overload)").tags(tags).register(registry).increment();
        for (TrainItem item : batch.getItems()) {
            itemShed(item);
        }
    }

    private void itemShed(TrainItem item) {
        Counter.builder("rehearsal.trainer.items.shed").description("Items not trained under overload, by role: every "
                        + "item of a shed batch, the recalls of a packed one")
                .tags(tags).tag("role", item.getRole().name().toLowerCase(java.util.Locale.ROOT)).register(registry)
                .increment();
    }

    /** A late TRAIN batch trained fresh first: its fresh items packed, its recalls shed (counted by role). */
    public void packed(TrainBatch batch) {
        Counter.builder("rehearsal.trainer.batches.packed").description("Late TRAIN batches trained on their fresh items "
                + "only, packed with other late batches' (overload, fresh first); their recalls are shed")
                .tags(tags).register(registry).increment();
        for (TrainItem item : batch.getItems()) {
            if (item.getRole() != ItemRole.FRESH) {
                itemShed(item);
            }
        }
    }

    /** A batch of this model read, {@code millis} after the curator created it. */
    public void batchRead(long millis) {
        batchAge.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
    }

    public void skipped() {
        Counter.builder("rehearsal.trainer.batches.skipped").description("Records of other models on the batch partition")
                .tags(tags).register(registry).increment();
    }

    private static void set(AtomicLong bits, double value) {
        bits.set(Double.doubleToLongBits(value));
    }
}
