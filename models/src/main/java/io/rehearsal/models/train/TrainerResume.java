package io.rehearsal.models.train;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotPublisher;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a starting trainer resumes: the newest committed snapshot of its model that reads and verifies,
 * its weights, its optimizer state and the batch offsets it covers, loaded into the trainer, the coverage
 * and the publisher (which tombstones the chunks of the versions before it with the next snapshots).
 */
final class TrainerResume {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    /** The version resumed from (0: none) and the highest version on the topic, after which the next one numbers. */
    record Resumed(long version, long highestOnTopic) {
    }

    private final TrainerSettings settings;
    private final Topics topics;
    private final ContinualTrainer trainer;
    private final BatchCoverage coverage;
    private final SnapshotPublisher publisher;
    private final Optional<SnapshotSigner> signer;
    private final TrainerMetrics metrics;

    TrainerResume(TrainerSettings settings, Topics topics, ContinualTrainer trainer, BatchCoverage coverage,
                  SnapshotPublisher publisher, Optional<SnapshotSigner> signer, TrainerMetrics metrics) {
        this.settings = settings;
        this.topics = topics;
        this.trainer = trainer;
        this.coverage = coverage;
        this.publisher = publisher;
        this.signer = signer;
        this.metrics = metrics;
    }

    /** Reads the model's snapshot history and restores the newest loadable snapshot, if any. */
    Resumed resume(String bootstrapServers, Map<String, Object> kafkaProperties) {
        try (SnapshotReader reader = SnapshotReader.create(topics, bootstrapServers, kafkaProperties, Duration.ofSeconds(60))) {
            return restoreNewestLoadable(reader.history(settings.modelId()), reader);
        }
    }

    /**
     * Resumes from the newest snapshot that reads and verifies. One that does not (forged, altered, unsigned
     * while a key is set, chunks gone, undecodable) is skipped with a warning, and the versions published
     * from here number after the highest version on the topic, so subscribers, which refused it too, take
     * them. If snapshots exist but none loads (e.g. the signing key changed) the trainer refuses to start
     * rather than start over from random weights and publish them as the newest model.
     */
    private Resumed restoreNewestLoadable(SnapshotReader.History history, SnapshotReader reader) {
        List<ModelSnapshot> snapshots = history.snapshots();
        if (history.undecodable() > 0) {
            LOG.warn("model {}: {} records on {} do not decode as snapshots; skipped", settings.modelId(),
                    history.undecodable(), topics.modelUpdates().name());
        }
        long highest = snapshots.stream().mapToLong(ModelSnapshot::getVersion).max().orElse(0);
        List<String> refused = new ArrayList<>();
        for (int i = snapshots.size() - 1; i >= 0; i--) {
            ModelSnapshot snapshot = snapshots.get(i);
            List<NamedTensor> parameters;
            try {
                parameters = SnapshotCodec.parameters(snapshot, reader, signer);
            } catch (SnapshotFormatException e) {
                refused.add("version " + snapshot.getVersion() + ": " + e.reason() + " (" + e.getMessage() + ")");
                LOG.warn("model {}: REFUSED snapshot version {} ({}): {}; trying the one before", settings.modelId(),
                        snapshot.getVersion(), e.reason(), e.getMessage());
                continue;
            }
            List<String> nonFinite = Divergence.nonFinite(parameters);
            if (!nonFinite.isEmpty()) {
                refused.add("version " + snapshot.getVersion() + ": " + TrainerApp.NON_FINITE_WEIGHTS + " (" + nonFinite + ")");
                LOG.warn("model {}: REFUSED snapshot version {} ({}): parameters {} hold NaN or infinite values; trying the "
                        + "one before", settings.modelId(), snapshot.getVersion(), TrainerApp.NON_FINITE_WEIGHTS, nonFinite);
                continue;
            }
            restore(snapshot, parameters);
            restoreOptimizerState(snapshot, reader);
            // the chunks of the version before (and of any skipped newer one) are tombstoned with the next
            // snapshots, as the trainer that published them would have done had it lived
            for (int j = Math.max(0, i - 1); j < snapshots.size(); j++) {
                if (j != i) {
                    publisher.remember(snapshots.get(j));
                }
            }
            if (highest != snapshot.getVersion()) {
                LOG.warn("model {}: resumed from version {}, the newest that loads; the next version is {} (after the "
                        + "highest on the topic, {}), with parent {}", settings.modelId(), snapshot.getVersion(), highest + 1,
                        highest, snapshot.getVersion());
            }
            return new Resumed(snapshot.getVersion(), highest);
        }
        if (!snapshots.isEmpty()) {
            throw new IllegalStateException(String.format("none of the %d snapshots of model %s on %s can be loaded, so the "
                            + "trainer will not start over from random weights: %s. If the signing key was changed, start with "
                            + "the key that signed them", snapshots.size(), settings.modelId(), topics.modelUpdates().name(),
                    refused.subList(Math.max(0, refused.size() - 3), refused.size())));
        }
        return new Resumed(0, 0);
    }

    private void restore(ModelSnapshot snapshot, List<NamedTensor> parameters) {
        ModelSpec spec = ModelSpec.fromAvro(snapshot.getSpec());
        if (!spec.equals(settings.spec())) {
            throw new IllegalStateException(String.format("the latest snapshot of model %s (version %d) is a %s but the "
                            + "settings ask for a %s; use a new model id for a new architecture, or restore the settings",
                    settings.modelId(), snapshot.getVersion(), spec, settings.spec()));
        }
        trainer.loadParameters(parameters);
        trainer.resumeAt(snapshot.getStep(), snapshot.getMetrics().getSamplesSeen());
        // the held-out results it carried: the evaluation goes on from them, as in a trainer that never stopped
        trainer.evals().restore(snapshot.getMetrics().getEvaluations());
        coverage.restore(snapshot.getProvenance());
        publisher.remember(snapshot);
        metrics.resumed(snapshot.getVersion());
    }

    /**
     * Loads the optimizer state saved with the snapshot (verified as its weights were), so training goes
     * on exactly as in the trainer that published it. A snapshot without one (an older trainer, or SGD
     * without momentum), or whose state cannot be read or does not fit this optimizer (settings changed,
     * chunks gone), leaves the state at zero with a warning: the weights are sound, only the momentum is lost.
     */
    private void restoreOptimizerState(ModelSnapshot snapshot, SnapshotReader reader) {
        try {
            Optional<List<NamedTensor>> state = SnapshotCodec.optimizerState(snapshot, reader, signer);
            if (state.isPresent()) {
                trainer.loadOptimizerState(state.get());
                LOG.info("model {}: loaded the optimizer state of version {} ({} tensors)", settings.modelId(),
                        snapshot.getVersion(), state.get().size());
            } else if (hasState(settings)) {
                LOG.warn("model {}: version {} carries no optimizer state (written by an older trainer?); the {} state "
                        + "starts from zero, so training differs slightly from an uninterrupted run", settings.modelId(),
                        snapshot.getVersion(), settings.optimizer());
            }
        } catch (SnapshotFormatException | IllegalArgumentException e) {
            LOG.warn("model {}: the optimizer state of version {} cannot be used ({}); it starts from zero, so training "
                    + "differs slightly from an uninterrupted run", settings.modelId(), snapshot.getVersion(), e.getMessage());
        }
    }

    private static boolean hasState(TrainerSettings s) {
        return s.optimizer() == OptimizerKind.ADAM || s.momentum() != 0f;
    }
}
