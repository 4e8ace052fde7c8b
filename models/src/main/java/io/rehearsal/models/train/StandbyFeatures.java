package io.rehearsal.models.train;

import io.rehearsal.models.features.FeatureCache;
import io.rehearsal.models.features.FeatureFeed;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standby trainer's feature cache, kept current while it waits for the lease, so that a takeover does not
 * begin by reading the whole features topic (most of a failover after the lease's session timeout when the
 * topic is large). It reads the topic as the active trainer's {@link FeatureFeed} does and follows it.
 *
 * <p>The features of a sample the curator let go stay in the cache until the batches that may still name it
 * are trained ({@link FeatureCache#release}); a standby trains nothing, so it learns what is trained from the
 * active trainer: the batches of the model's partition (their shard and sequence, read here without a
 * group) and the trainer group's committed offset, which moves only with the snapshot transactions. A
 * batch before that offset is covered by the newest snapshot, which a successor resumes after; so the
 * standby holds what a successor may still need, no more, however long it waits. Before its first batch
 * of a shard is read, the shard's earlier releases count as trained (a successor starts at or after the
 * committed offset, so at or after that batch).
 *
 * <p>Not thread-safe: one thread calls {@link #follow} and then, on takeover, the trainer runs on it.
 */
final class StandbyFeatures implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StandbyFeatures.class);
    /** How often the trainer group's committed offset is looked up. */
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(2);

    private record Seen(long offset, int shard, long sequence) {
    }

    private final String modelId;
    private final Topics topics;
    private final FeatureFeed features;
    private final FeatureCache cache;
    private final Consumer<byte[], byte[]> batches;
    private final TopicPartition partition;
    private final Deque<Seen> untrained = new ArrayDeque<>();
    private final Set<Integer> shardsSeen = new HashSet<>();
    private long nextProgress;

    StandbyFeatures(TrainerSettings settings, Topics topics, String bootstrapServers, Map<String, Object> kafkaProperties,
                    FeatureFeed features, FeatureCache cache) {
        this.modelId = settings.modelId();
        this.topics = topics;
        this.features = features;
        this.cache = cache;
        // in the trainer's group only to read its committed offset: assigned, never committing, never joining
        this.batches = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-standby-batches")
                .withDefault(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500)
                .require(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false)
                .inGroup(settings.groupId())
                .readCommitted()
                .over(kafkaProperties));
        try {
            int partitions = batches.partitionsFor(topics.trainBatches().name(), Duration.ofSeconds(60)).size();
            this.partition = new TopicPartition(topics.trainBatches().name(),
                    SnapshotReader.partitionFor(topics.trainBatches().serializeKey(modelId), partitions));
            batches.assign(Set.of(partition));
            long committed = committed();
            batches.seek(partition, committed);
            LOG.info("model {}: standby reading the features topic while it waits; following {} from offset {} (the trainer "
                    + "group's committed offset)", modelId, partition, committed);
        } catch (RuntimeException e) {
            batches.close(CloseOptions.timeout(Duration.ZERO));
            throw e;
        }
    }

    /**
     * Reads the features topic (the first call reads it to its end) and follows it for up to {@code wait}; every
     * couple of seconds, lets the cache drop the features of released samples that only trained batches named.
     */
    void follow(Duration wait) {
        features.start(Duration.ofMinutes(10));
        features.poll(wait);
        if (System.nanoTime() >= nextProgress) {
            nextProgress = System.nanoTime() + PROGRESS_EVERY.toNanos();
            try {
                readBatches();
                long committed = committed();
                while (!untrained.isEmpty() && untrained.peekFirst().offset() < committed) {
                    Seen s = untrained.removeFirst();
                    cache.trained(s.shard(), s.sequence());
                }
            } catch (KafkaException e) {
                LOG.debug("model {}: standby could not follow the trainer's progress ({}); trying again", modelId, e.toString());
            }
        }
    }

    private void readBatches() {
        for (int polls = 0; polls < 100; polls++) {
            var polled = batches.poll(Duration.ZERO);
            if (polled.isEmpty()) {
                return;
            }
            polled.forEach(this::seen);
        }
    }

    private void seen(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null || !modelId.equals(new String(r.key(), StandardCharsets.UTF_8)) || r.value() == null) {
            return;
        }
        TrainBatch b;
        try {
            b = topics.trainBatches().deserializeValue(r.value());
        } catch (RecordDecodeException e) {
            return; // the active trainer dead-letters it; it names no features this cache could free
        }
        if (shardsSeen.add(b.getShard())) {
            // the successor starts at or after this batch: releases before its sequence are not needed
            cache.trained(b.getShard(), b.getSequence() - 1);
        }
        untrained.addLast(new Seen(r.offset(), b.getShard(), b.getSequence()));
    }

    /** The trainer group's committed offset of the model's partition (0 before the first snapshot). */
    private long committed() {
        OffsetAndMetadata o = batches.committed(Set.of(partition), Duration.ofSeconds(10)).get(partition);
        return o == null ? 0 : o.offset();
    }

    @Override
    public void close() {
        batches.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
