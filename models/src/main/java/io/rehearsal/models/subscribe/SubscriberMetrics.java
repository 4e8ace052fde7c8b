package io.rehearsal.models.subscribe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The subscriber's Micrometer meters, named {@code rehearsal.subscriber.*} and tagged {@code model}. See
 * docs/metrics.md for what each means and its Prometheus name.
 */
final class SubscriberMetrics {
    private final AtomicLong version = new AtomicLong();
    private final AtomicLong step = new AtomicLong();
    private final AtomicInteger openModels = new AtomicInteger();
    private final Counter swaps;
    private final Counter stale;
    private final Timer swapTime;
    private final Timer swapDelay;
    private final Counter predictions;
    private final Timer latency;
    private final Map<SnapshotFormatException.Reason, Counter> refused = new EnumMap<>(SnapshotFormatException.Reason.class);
    private final Map<SnapshotFormatException.Reason, Counter> promotionsRefused = new EnumMap<>(SnapshotFormatException.Reason.class);
    private final AtomicReference<ReleaseState> release = new AtomicReference<>();
    private final Clock clock;

    SubscriberMetrics(MeterRegistry registry, String modelId) {
        this(registry, modelId, Follow.LATEST, Clock.systemUTC());
    }

    SubscriberMetrics(MeterRegistry registry, String modelId, Follow follow, Clock clock) {
        this.clock = clock;
        Tags tags = Tags.of("model", modelId);
        Gauge.builder("rehearsal.subscriber.model.version", version, AtomicLong::get)
                .description("Version of the snapshot being served (0: none yet)").tags(tags).register(registry);
        Gauge.builder("rehearsal.subscriber.model.step", step, AtomicLong::get)
                .description("Training step of the snapshot being served").tags(tags).register(registry);
        Gauge.builder("rehearsal.subscriber.models.open", openModels, AtomicInteger::get)
                .description("Loaded model versions not yet closed: 1, or 2 while predictions finish on a retired one")
                .tags(tags).register(registry);
        swaps = Counter.builder("rehearsal.subscriber.swaps").description("New versions swapped in")
                .tags(tags).register(registry);
        stale = Counter.builder("rehearsal.subscriber.snapshots.stale")
                .description("Snapshots ignored because they are not newer than the one served").tags(tags).register(registry);
        swapTime = Timer.builder("rehearsal.subscriber.swap.time")
                .description("Time to verify, decode and load a snapshot before it is swapped in")
                .tags(tags).publishPercentiles(0.5, 0.99).register(registry);
        // a histogram (not client-side quantiles) so that freshness aggregates over subscribers in PromQL
        swapDelay = Timer.builder("rehearsal.subscriber.swap.delay")
                .description("From the snapshot's creation by the trainer to being served here (model freshness)")
                .tags(tags).publishPercentiles(0.5, 0.99).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(30))
                .register(registry);
        for (SnapshotFormatException.Reason reason : SnapshotFormatException.Reason.values()) {
            refused.put(reason, Counter.builder("rehearsal.subscriber.snapshots.refused")
                    .description("Snapshots refused (the previous version keeps serving), by reason")
                    .tags(tags).tag("reason", reason.name()).register(registry));
        }
        // what a subscriber that follows promotions knows of the release state (docs/lifecycle.md)
        Gauge.builder("rehearsal.subscriber.follows.promotions", () -> follow == Follow.PROMOTED ? 1 : 0)
                .description("1 when this subscriber serves the promoted version, 0 when it serves the latest candidate")
                .tags(tags).register(registry);
        Gauge.builder("rehearsal.subscriber.latest.version", release, r -> r.get() == null ? version.get() : r.get().latestVersion())
                .description("Newest candidate version: as the newest promotion states it, or the version served when "
                        + "following the latest candidate").tags(tags).register(registry);
        Gauge.builder("rehearsal.subscriber.promotion.held.back", release, r -> r.get() == null ? 0.0
                        : r.get().heldBackFor(clock.instant()).toMillis() / 1000.0)
                .description("Seconds since promotion was held back (candidates refused or held), as the newest promotion "
                        + "states it; 0 when it is not").baseUnit("seconds").tags(tags).register(registry);
        Gauge.builder("rehearsal.subscriber.pinned", release, r -> r.get() != null && r.get().pinned() ? 1 : 0)
                .description("1 while the served version is pinned by an operator").tags(tags).register(registry);
        for (SnapshotFormatException.Reason reason : SnapshotFormatException.Reason.values()) {
            promotionsRefused.put(reason, Counter.builder("rehearsal.subscriber.promotions.refused")
                    .description("Promotion records refused (unsigned, bad signature, undecodable), by reason")
                    .tags(tags).tag("reason", reason.name()).register(registry));
        }
        predictions = Counter.builder("rehearsal.subscriber.predictions").description("Inputs predicted")
                .tags(tags).register(registry);
        latency = Timer.builder("rehearsal.subscriber.prediction.latency")
                .description("Time of one predict call on the served model (one forward pass over its inputs)")
                .tags(tags).publishPercentiles(0.5, 0.9, 0.99).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(50_000)).maximumExpectedValue(Duration.ofSeconds(5))
                .register(registry);
    }

    void swapped(ModelInfo info, long loadNanos) {
        swaps.increment();
        swapTime.record(loadNanos, TimeUnit.NANOSECONDS);
        long delay = info.loadedTime().toEpochMilli() - info.createdTime().toEpochMilli();
        swapDelay.record(Math.max(0, delay), TimeUnit.MILLISECONDS);
        version.set(info.version());
        step.set(info.step());
    }

    void release(ReleaseState state) {
        release.set(state);
    }

    void promotionRefused(SnapshotFormatException.Reason reason) {
        promotionsRefused.get(reason).increment();
    }

    void stale() {
        stale.increment();
    }

    void refused(SnapshotFormatException.Reason reason) {
        refused.get(reason).increment();
    }

    void opened() {
        openModels.incrementAndGet();
    }

    void closed() {
        openModels.decrementAndGet();
    }

    int openModels() {
        return openModels.get();
    }

    void predicted(int rows, long nanos) {
        predictions.increment(rows);
        latency.record(nanos, TimeUnit.NANOSECONDS);
    }
}
