package io.rehearsal.cli.experiment;

import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the latest published snapshot of a model from Kafka, as any subscriber would, and evaluates it
 * on held-out images with a model of its own (never the trainer's).
 */
final class SnapshotEvaluator implements AutoCloseable {
    private final SnapshotReader reader;
    private final ContinualTrainer model;
    private final String modelId;
    private long version;
    private long step;

    SnapshotEvaluator(TrainerSettings settings, Topics topics, String bootstrap, Map<String, Object> clientProperties) {
        this.reader = SnapshotReader.create(topics, bootstrap, clientProperties, Duration.ofSeconds(30));
        this.model = new ContinualTrainer(settings);
        this.modelId = settings.modelId();
    }

    /** Loads the latest snapshot if it is newer than the one loaded; returns whether it did. */
    boolean refresh() {
        Optional<ModelSnapshot> latest = reader.latest(modelId);
        if (latest.isEmpty() || latest.get().getVersion() <= version) {
            return false;
        }
        ModelSnapshot s = latest.get();
        model.loadParameters(SnapshotCodec.parameters(s, reader, Optional.empty()));
        version = s.getVersion();
        step = s.getStep();
        return true;
    }

    long version() {
        return version;
    }

    long step() {
        return step;
    }

    int[] predict(List<float[]> inputs) {
        return model.predict(inputs);
    }

    @Override
    public void close() {
        model.close();
        reader.close();
    }
}
