package io.rehearsal.models.train;

import ai.djl.engine.Engine;
import io.rehearsal.models.runtime.TorchRuntime;
import io.rehearsal.models.snapshot.BuildInfo;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotPublisher;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Provenance;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots a trainer publishes: their numbering (after the version resumed from and after the highest
 * on the topic), their content (finite weights, optimizer state, the window's metrics, provenance) and the
 * transaction that publishes one together with the batch offsets it covers and the pending dead letters.
 */
final class TrainerSnapshots {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    private final TrainerSettings settings;
    private final ContinualTrainer trainer;
    private final SnapshotPublisher publisher;
    private final BatchSource batches;
    private final BatchCoverage coverage;
    private final TrainingWindow window;
    private final TrainerDeadLetters deadLetters;
    private final Divergence divergence;
    private final TrainerMetrics metrics;
    private final Clock clock;
    private volatile long version;
    /** The highest version on the topic when this trainer started: the next one numbers after it. */
    private long highestOnTopic;
    private long lastSnapshotMillis;

    TrainerSnapshots(TrainerSettings settings, ContinualTrainer trainer, SnapshotPublisher publisher, BatchSource batches,
                     BatchCoverage coverage, TrainingWindow window, TrainerDeadLetters deadLetters, Divergence divergence,
                     TrainerMetrics metrics, Clock clock) {
        this.settings = settings;
        this.trainer = trainer;
        this.publisher = publisher;
        this.batches = batches;
        this.coverage = coverage;
        this.window = window;
        this.deadLetters = deadLetters;
        this.divergence = divergence;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** Version of the latest snapshot published or loaded; 0 before the first. */
    long version() {
        return version;
    }

    /** At the start: the version resumed from, and the highest on the topic. */
    void resumed(TrainerResume.Resumed resumed) {
        version = resumed.version();
        highestOnTopic = resumed.highestOnTopic();
    }

    /** Once reading: the time to the first snapshot counts from now. */
    void startClock() {
        lastSnapshotMillis = clock.millis();
    }

    /** Whether {@code snapshotEvery} passed since the last snapshot (or the start). */
    boolean timeDue() {
        return clock.millis() - lastSnapshotMillis >= settings.snapshotEvery().toMillis();
    }

    /** Publishes a snapshot of the current model with the offsets it covers, in one transaction. */
    ModelSnapshot publish() {
        long started = System.nanoTime();
        long next = Math.max(version, highestOnTopic) + 1;
        // weights that are not finite are never published: the trainer rolls back to the last good ones
        Divergence.Weights weights = divergence.toPublish();
        byte[] blob = SnapshotCodec.encodeParameters(weights.parameters());
        byte[] optimizerState = weights.optimizerState().isEmpty() ? null
                : SnapshotCodec.encodeParameters(weights.optimizerState());
        ModelSnapshot published = publisher.publish(new SnapshotPublisher.Content(next, version == 0 ? null : version,
                        trainer.step(), Instant.ofEpochMilli(clock.millis()), settings.spec().toAvro(), blob, optimizerState,
                        settings.module().map(m -> m.bytes()).orElse(null), window.toMetrics(trainer.samplesSeen(), trainer.evals()), provenance()),
                coverage.toCommit(), batches.groupMetadata(), deadLetters.pending());
        version = next;
        lastSnapshotMillis = clock.millis();
        metrics.published(next, blob.length, System.nanoTime() - started, window.prequentialAccuracy());
        LOG.info("model {}: published version {} at step {} ({}; optimizer state {}), covering {}", settings.modelId(), next,
                trainer.step(), describe(published.getParameters()),
                optimizerState == null ? "none" : describe(published.getOptimizerState()), coverage.batchOffsets());
        window.reset();
        coverage.markPublished();
        deadLetters.clear();
        divergence.published(weights, next);
        return published;
    }

    private static String describe(ParameterBlob blob) {
        return blob.getSizeBytes() + " bytes" + (blob.getInline() == null ? " in " + blob.getChunks().size() + " chunks" : " inline");
    }

    private Provenance provenance() {
        Map<String, String> settingsMap = new LinkedHashMap<>(settings.toProvenance());
        return new Provenance(settingsMap, settings.seed(), coverage.batchOffsets(), coverage.sampleOffsets(),
                settings.bufferSize(), BuildInfo.projectVersion(), BuildInfo.gitSha(), System.getProperty("java.version"),
                Engine.getDjlVersion(), Engine.getEngine(TorchRuntime.ENGINE).getVersion(), trainer.device().toString(),
                BuildInfo.host());
    }
}
