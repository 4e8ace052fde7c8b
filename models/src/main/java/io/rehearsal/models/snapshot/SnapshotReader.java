package io.rehearsal.models.snapshot;

import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.SnapshotChunk;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * Reads committed snapshots back from Kafka: the latest snapshot of a model from the model-updates
 * topic, and chunks by reference from the chunk topic. Uses one {@code read_committed} consumer
 * without a group (assign and seek only), so aborted snapshots and chunks are never seen.
 */
public final class SnapshotReader implements ChunkSource, AutoCloseable {
    private final Topics topics;
    private final Consumer<byte[], byte[]> consumer;
    private final Duration timeout;
    /** The records of the latest chunk poll: a snapshot's chunks sit side by side, so one fetch usually holds them all. */
    private List<ConsumerRecord<byte[], byte[]>> fetched = List.of();

    public SnapshotReader(Topics topics, Consumer<byte[], byte[]> consumer, Duration timeout) {
        this.topics = topics;
        this.consumer = consumer;
        this.timeout = timeout;
    }

    /** A reader with its own consumer; {@code extra} (TLS, SASL...) is added to the consumer settings. */
    public static SnapshotReader create(Topics topics, String bootstrapServers, Map<String, Object> extra, Duration timeout) {
        Map<String, Object> config = ClientConfig.consumer(bootstrapServers)
                // a seek waits for the fetch in flight: keep that wait short, chunk reads seek often
                .withDefault(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100)
                .withoutGroup().readCommitted()
                .over(extra);
        return new SnapshotReader(topics, new KafkaConsumer<>(config), timeout);
    }

    /** The partition a key lands on with Kafka's default partitioner (murmur2 of the key bytes). */
    public static int partitionFor(byte[] key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key)) % partitions;
    }

    /**
     * The newest committed snapshot of {@code modelId} (scanning its partition of the compacted
     * model-updates topic), or empty if it has none.
     */
    public Optional<ModelSnapshot> latest(String modelId) {
        History h = history(modelId);
        return h.snapshots().isEmpty() ? Optional.empty() : Optional.of(h.snapshots().get(h.snapshots().size() - 1));
    }

    /**
     * What the model-updates topic holds for a model: its committed snapshots, oldest first (after the last
     * tombstone, if any), and how many of its records did not decode (skipped).
     */
    public record History(List<ModelSnapshot> snapshots, int undecodable) {
    }

    /** Every committed snapshot of {@code modelId}, oldest first; records that do not decode are counted, not returned. */
    public History history(String modelId) {
        List<ModelSnapshot> snapshots = new ArrayList<>();
        int undecodable = scan(modelId, new Visitor() {
            @Override
            public void snapshot(ModelSnapshot s) {
                snapshots.add(s);
            }

            @Override
            public void tombstone() {
                snapshots.clear(); // the model's history starts again after it
            }
        });
        return new History(List.copyOf(snapshots), undecodable);
    }

    /** What {@link #scan} hands over, record by record. */
    public interface Visitor {
        /** The next committed snapshot of the model, in topic order. */
        void snapshot(ModelSnapshot snapshot);

        /** A tombstone: what came before it is no longer the model's history. */
        void tombstone();
    }

    /**
     * Reads the model's partition of the model-updates topic from the beginning to its last stable offset, handing
     * each committed snapshot (and tombstone) of {@code modelId} to {@code visitor} without holding them: for
     * readers of a long history, such as {@code rehearsal report}.
     *
     * @return how many of the model's records did not decode (skipped)
     */
    public int scan(String modelId, Visitor visitor) {
        String topic = topics.modelUpdates().name();
        byte[] key = topics.modelUpdates().serializeKey(modelId);
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, timeout);
        if (partitions == null || partitions.isEmpty()) {
            return 0;
        }
        TopicPartition tp = new TopicPartition(topic, partitionFor(key, partitions.size()));
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long end = consumer.endOffsets(List.of(tp), timeout).get(tp); // the last stable offset under read_committed
        int undecodable = 0;
        Instant deadline = Instant.now().plus(timeout);
        while (consumer.position(tp, timeout) < end) {
            if (Instant.now().isAfter(deadline)) {
                throw new SnapshotFormatException(Reason.UNREADABLE, String.format("could not read %s up to offset %d within %s (at %d); "
                        + "is the broker reachable?", tp, end, timeout, consumer.position(tp)));
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.key() == null || !Arrays.equals(r.key(), key)) {
                    continue;
                }
                if (r.value() == null) {
                    visitor.tombstone();
                    continue;
                }
                ModelSnapshot s;
                try {
                    s = topics.modelUpdates().deserializeValue(r.value());
                } catch (RecordDecodeException e) {
                    undecodable++;
                    continue;
                }
                visitor.snapshot(s);
            }
        }
        return undecodable;
    }

    @Override
    public SnapshotChunk read(ChunkRef ref) {
        TopicPartition tp = new TopicPartition(ref.getTopic(), ref.getPartition());
        for (ConsumerRecord<byte[], byte[]> r : fetched) {
            if (r.topic().equals(ref.getTopic()) && r.partition() == ref.getPartition() && r.offset() == ref.getOffset()) {
                return r.value() == null ? null : topics.modelChunks().deserializeValue(r.value());
            }
        }
        consumer.assign(List.of(tp));
        consumer.seek(tp, ref.getOffset());
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            List<ConsumerRecord<byte[], byte[]>> records = consumer.poll(Duration.ofMillis(200)).records(tp);
            if (!records.isEmpty()) {
                fetched = records;
            }
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (r.offset() == ref.getOffset()) {
                    return r.value() == null ? null : topics.modelChunks().deserializeValue(r.value());
                }
                if (r.offset() > ref.getOffset()) {
                    return null; // compacted away or aborted
                }
            }
            if (consumer.position(tp) > ref.getOffset()) {
                return null;
            }
        }
        throw new SnapshotFormatException(Reason.UNREADABLE, String.format("could not read chunk %s-%d@%d within %s; is the broker reachable?",
                ref.getTopic(), ref.getPartition(), ref.getOffset(), timeout));
    }

    @Override
    public void close() {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(1))); // no group to leave
    }
}
