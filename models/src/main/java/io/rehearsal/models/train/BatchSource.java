package io.rehearsal.models.train;

import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.metrics.KafkaClientMeters;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's batch consumer: the one batch-topic partition a model's key hashes to, assigned (not
 * subscribed), read-committed, its offsets moved only by the snapshot transactions that cover them.
 */
final class BatchSource implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    private final TrainerSettings settings;
    private final Topics topics;
    private final Consumer<byte[], byte[]> consumer;
    private final KafkaClientMeters clientMeters;
    private TopicPartition partition;

    /** @param registry where the consumer's {@code kafka.consumer.*} meters go */
    BatchSource(TrainerSettings settings, Topics topics, String bootstrapServers, Map<String, Object> kafkaProperties,
                MeterRegistry registry) {
        this.settings = settings;
        this.topics = topics;
        // not negotiable: offsets move only inside snapshot transactions, and aborted batches are invisible
        this.consumer = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-batches")
                .withDefault(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 32)
                .withDefault(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                .inGroup(settings.groupId())
                .readCommitted()
                .over(kafkaProperties));
        this.clientMeters = new KafkaClientMeters(registry, "trainer-client-metrics").bind(consumer);
    }

    /**
     * Assigns the model's partition and seeks to the offset the restored snapshot covers (else the group's
     * committed offset, else the beginning).
     */
    void open(BatchCoverage coverage) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topics.trainBatches().name(), Duration.ofSeconds(60));
        int p = SnapshotReader.partitionFor(topics.trainBatches().serializeKey(settings.modelId()), partitions.size());
        partition = new TopicPartition(topics.trainBatches().name(), p);
        consumer.assign(List.of(partition));
        Long fromSnapshot = coverage.nextOffset(partition);
        OffsetAndMetadata committed = consumer.committed(Set.of(partition), Duration.ofSeconds(60)).get(partition);
        if (fromSnapshot != null) {
            if (committed != null && committed.offset() != fromSnapshot) {
                LOG.warn("model {}: group {} has offset {} committed for {} but the latest snapshot covers up to {}; "
                        + "resuming from the snapshot", settings.modelId(), settings.groupId(), committed.offset(),
                        partition, fromSnapshot);
            }
            consumer.seek(partition, fromSnapshot);
        } else if (committed != null) {
            consumer.seek(partition, committed.offset());
        } else {
            consumer.seekToBeginning(List.of(partition));
        }
    }

    /** The assigned partition (null before {@link #open}). */
    TopicPartition partition() {
        return partition;
    }

    /** The next offset the consumer reads. */
    long position() {
        return consumer.position(partition);
    }

    ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
        return consumer.poll(timeout);
    }

    /** The group metadata a snapshot transaction commits the covered offsets with. */
    ConsumerGroupMetadata groupMetadata() {
        return consumer.groupMetadata();
    }

    /** Wakes a blocking consumer call up; safe from any thread. */
    void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close() {
        clientMeters.close();
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
