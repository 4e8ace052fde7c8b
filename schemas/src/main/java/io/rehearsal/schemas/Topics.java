package io.rehearsal.schemas;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.TrainBatch;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The registry of rehearsal's topics (see docs/topics.md). All names share a prefix, {@code rehearsal}
 * by default, so several deployments (or tests) can share a cluster.
 *
 * <p>{@code samples} and {@code feedback} are both keyed by sample id and must have the same partition
 * count: the curator joins them partition by partition (co-partitioning).
 */
public final class Topics {
    /** The default prefix: topics are {@code rehearsal.samples}, {@code rehearsal.feedback}, ... */
    public static final String DEFAULT_PREFIX = "rehearsal";
    /** The default partition count of the input topics (samples, feedback, predictions). */
    public static final int DEFAULT_INPUT_PARTITIONS = 3;
    /** Batches and model chunks may be larger than Kafka's default 1 MiB message limit. */
    public static final int LARGE_MESSAGE_BYTES = 8 << 20;

    private final String prefix;
    private final Topic<String, Sample> samples;
    private final Topic<String, Feedback> feedback;
    private final Topic<String, TrainBatch> trainBatches;
    private final Topic<String, ModelSnapshot> modelUpdates;
    private final Topic<String, SnapshotChunk> modelChunks;
    private final Topic<String, Prediction> predictions;
    private final Topic<byte[], DeadLetter> deadLetters;

    public Topics(String prefix, int inputPartitions) {
        if (prefix == null || prefix.isBlank() || !prefix.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("topic prefix '" + prefix + "' must be letters, digits, '.', '_' or '-'");
        }
        this.prefix = prefix;
        Map<String, String> week = retention(Duration.ofDays(7));
        this.samples = new Topic<>(prefix + ".samples", Serdes.String(), InputSerde.samples(), inputPartitions, week);
        this.feedback = new Topic<>(prefix + ".feedback", Serdes.String(), InputSerde.feedback(), inputPartitions, week);
        this.trainBatches = new Topic<>(prefix + ".train-batches", Serdes.String(), AvroSerde.of(TrainBatch.class), 1,
                Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis()),
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(LARGE_MESSAGE_BYTES)));
        Map<String, String> compacted = Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(LARGE_MESSAGE_BYTES));
        this.modelUpdates = new Topic<>(prefix + ".model-updates", Serdes.String(), AvroSerde.of(ModelSnapshot.class), 1, compacted);
        this.modelChunks = new Topic<>(prefix + ".model-chunks", Serdes.String(), AvroSerde.of(SnapshotChunk.class), 1, compacted);
        this.predictions = new Topic<>(prefix + ".predictions", Serdes.String(), AvroSerde.of(Prediction.class), inputPartitions, week);
        this.deadLetters = new Topic<>(prefix + ".dead-letters", Serdes.ByteArray(), AvroSerde.of(DeadLetter.class), 1,
                retention(Duration.ofDays(30)));
    }

    /** {@code rehearsal.*} topics with {@value #DEFAULT_INPUT_PARTITIONS} input partitions. */
    public static Topics defaults() {
        return new Topics(DEFAULT_PREFIX, DEFAULT_INPUT_PARTITIONS);
    }

    public String prefix() {
        return prefix;
    }

    /** Labeled samples and prediction requests (key: sample id). */
    public Topic<String, Sample> samples() {
        return samples;
    }

    /** Human feedback (key: sample id). */
    public Topic<String, Feedback> feedback() {
        return feedback;
    }

    /** Ready training batches from the curator (key: model id). */
    public Topic<String, TrainBatch> trainBatches() {
        return trainBatches;
    }

    /** Model snapshots, compacted (key: model id). */
    public Topic<String, ModelSnapshot> modelUpdates() {
        return modelUpdates;
    }

    /** Chunks of large snapshots, compacted (key: modelId/version/index). */
    public Topic<String, SnapshotChunk> modelChunks() {
        return modelChunks;
    }

    /** Predictions for unlabeled samples (key: sample id). */
    public Topic<String, Prediction> predictions() {
        return predictions;
    }

    /** Every rejected input (key: the original key bytes). */
    public Topic<byte[], DeadLetter> deadLetters() {
        return deadLetters;
    }

    public List<Topic<?, ?>> all() {
        return List.of(samples, feedback, trainBatches, modelUpdates, modelChunks, predictions, deadLetters);
    }

    private static Map<String, String> retention(Duration d) {
        return Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(d.toMillis()));
    }
}
