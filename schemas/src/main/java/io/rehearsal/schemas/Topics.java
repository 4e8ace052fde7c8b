package io.rehearsal.schemas;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SampleFeatures;
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
    /** Samples, batches and model chunks may be larger than Kafka's default 1 MiB message limit. */
    public static final int LARGE_MESSAGE_BYTES = 8 << 20;
    /** The limit of the topics whose records are small by construction (feedback, predictions, dead letters). */
    public static final int SMALL_MESSAGE_BYTES = 1 << 20;
    /**
     * Room a rerouted input record needs beyond the limit of its source topic: the headers naming where
     * it came from, and a key that may differ from the original.
     */
    public static final int REROUTE_OVERHEAD_BYTES = 64 << 10;
    /**
     * How long the features topic keeps a released sample's features before compaction may drop them
     * ({@code min.compaction.lag.ms}): a trainer that restarts, or falls behind, within this long still finds
     * the features of every batch it has to train again.
     */
    public static final Duration FEATURES_KEPT_AFTER_RELEASE = Duration.ofHours(1);
    /** Header of a tombstone on the features topic: the curator shard that let the sample go (decimal). */
    public static final String RELEASED_BY_SHARD_HEADER = "rehearsal.released.shard";
    /**
     * Header of a tombstone on the features topic (decimal): a batch sequence of the sample's model and that shard
     * after which no batch names the sample. A reader of batches drops the features once it has read that batch
     * or a later one of the shard, never earlier: the tombstone can reach it before batches still naming the sample.
     */
    public static final String RELEASED_AFTER_HEADER = "rehearsal.released.after";

    private final String prefix;
    private final Topic<String, Sample> samples;
    private final Topic<String, Feedback> feedback;
    private final Topic<String, TrainBatch> trainBatches;
    private final Topic<String, ModelSnapshot> modelUpdates;
    private final Topic<String, SnapshotChunk> modelChunks;
    private final Topic<String, Prediction> predictions;
    private final Topic<byte[], DeadLetter> deadLetters;
    private final Topic<byte[], byte[]> reroute;
    private final Topic<String, SampleFeatures> features;
    private final Topic<String, Promotion> promotions;
    private final Topic<String, SnapshotChunk> releases;
    private final Topic<String, ModelCommand> commands;

    public Topics(String prefix, int inputPartitions) {
        if (prefix == null || prefix.isBlank() || !prefix.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("topic prefix '" + prefix + "' must be letters, digits, '.', '_' or '-'");
        }
        this.prefix = prefix;
        Duration week = Duration.ofDays(7);
        this.samples = new Topic<>(prefix + ".samples", Serdes.String(), InputSerde.samples(), inputPartitions,
                limits(week, LARGE_MESSAGE_BYTES));
        this.feedback = new Topic<>(prefix + ".feedback", Serdes.String(), InputSerde.feedback(), inputPartitions,
                limits(week, SMALL_MESSAGE_BYTES));
        this.trainBatches = new Topic<>(prefix + ".train-batches", Serdes.String(), AvroSerde.of(TrainBatch.class), 1,
                Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis()),
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(LARGE_MESSAGE_BYTES)));
        Map<String, String> compacted = Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(LARGE_MESSAGE_BYTES));
        this.modelUpdates = new Topic<>(prefix + ".model-updates", Serdes.String(), AvroSerde.of(ModelSnapshot.class), 1, compacted);
        this.modelChunks = new Topic<>(prefix + ".model-chunks", Serdes.String(), AvroSerde.of(SnapshotChunk.class), 1, compacted);
        this.predictions = new Topic<>(prefix + ".predictions", Serdes.String(), AvroSerde.of(Prediction.class), inputPartitions,
                limits(week, SMALL_MESSAGE_BYTES));
        this.deadLetters = new Topic<>(prefix + ".dead-letters", Serdes.ByteArray(), AvroSerde.of(DeadLetter.class), 1,
                limits(Duration.ofDays(30), SMALL_MESSAGE_BYTES));
        this.reroute = new Topic<>(prefix + ".curator-reroute", Serdes.ByteArray(), Serdes.ByteArray(), inputPartitions,
                limits(week, LARGE_MESSAGE_BYTES + REROUTE_OVERHEAD_BYTES));
        this.features = new Topic<>(prefix + ".features", Serdes.String(), AvroSerde.of(SampleFeatures.class), inputPartitions,
                Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(LARGE_MESSAGE_BYTES),
                        TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, Long.toString(FEATURES_KEPT_AFTER_RELEASE.toMillis()),
                        TopicConfig.DELETE_RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis())));
        this.promotions = new Topic<>(prefix + ".model-promotions", Serdes.String(), AvroSerde.of(Promotion.class), 1,
                Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(SMALL_MESSAGE_BYTES)));
        this.releases = new Topic<>(prefix + ".model-releases", Serdes.String(), AvroSerde.of(SnapshotChunk.class), 1, compacted);
        this.commands = new Topic<>(prefix + ".model-commands", Serdes.String(), AvroSerde.of(ModelCommand.class), 1,
                limits(week, SMALL_MESSAGE_BYTES));
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

    /**
     * Samples and feedback whose partition is not the canonical one for their sample id (written by a
     * client with another default partitioner, such as kcat or confluent-kafka): the curator forwards them
     * here, keyed by sample id and partitioned as the Java client does, so a sample and its feedback meet
     * on one shard whichever client wrote them. Values are the original bytes; headers say where they came
     * from. Same partition count as samples. See docs/topics.md.
     */
    public Topic<byte[], byte[]> reroute() {
        return reroute;
    }

    /**
     * The features of every sample the curator holds (key: sample id), written once on admission and tombstoned
     * when the curator lets the sample go; compacted. Training batches name samples; the trainer keeps the
     * features of those a batch may still name, fed from here. Same partition count as samples.
     */
    public Topic<String, SampleFeatures> features() {
        return features;
    }

    /**
     * The model's release state after each decision of the promoter, compacted (key: model id): which
     * version services serve, pinned or not, the evaluation behind it, and where to roll back to. Written by
     * the promoter only, transactionally and signed. See docs/lifecycle.md.
     */
    public Topic<String, Promotion> promotions() {
        return promotions;
    }

    /**
     * The weights of promoted versions, in chunks, compacted (key: modelId/version/index): copied by the
     * promoter when it promotes a version and tombstoned once the version is neither served nor a rollback
     * target, so a promoted version outlives the trainer's own chunks.
     */
    public Topic<String, SnapshotChunk> releases() {
        return releases;
    }

    /** Operators' commands (promote, pin, unpin, rollback; key: model id), applied by the promoter. */
    public Topic<String, ModelCommand> commands() {
        return commands;
    }

    public List<Topic<?, ?>> all() {
        return List.of(samples, feedback, trainBatches, modelUpdates, modelChunks, predictions, deadLetters, reroute,
                features, promotions, releases, commands);
    }

    /**
     * The largest record a producer writing to {@code written} must be allowed to send: the highest
     * {@code max.message.bytes} among them, so that every producer's {@code max.request.size} agrees with
     * the topics it writes.
     */
    public static int maxRequestSize(Topic<?, ?>... written) {
        int max = SMALL_MESSAGE_BYTES;
        for (Topic<?, ?> t : written) {
            max = Math.max(max, t.maxMessageBytes());
        }
        return max;
    }

    private static Map<String, String> limits(Duration retention, int maxMessageBytes) {
        return Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention.toMillis()),
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes));
    }
}
