package io.rehearsal.models.release;

import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Promotion;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a model's promotion records back from the compacted model-promotions topic ({@code read_committed},
 * no consumer group): what {@code rehearsal model list|show} and {@code rehearsal status} print, and what a
 * restarted promoter resumes from. Records whose signature does not verify (when a key is given) are counted
 * and skipped, never returned.
 */
public final class PromotionReader implements AutoCloseable {
    private final Topics topics;
    private final Consumer<byte[], byte[]> consumer;
    private final Duration timeout;
    private final Optional<PromotionSigner> verifier;

    public PromotionReader(Topics topics, Consumer<byte[], byte[]> consumer, Duration timeout, Optional<PromotionSigner> verifier) {
        this.topics = topics;
        this.consumer = consumer;
        this.timeout = timeout;
        this.verifier = verifier;
    }

    /** A reader with its own consumer; {@code extra} (TLS, SASL...) is added to its settings. */
    public static PromotionReader create(Topics topics, String bootstrapServers, Map<String, Object> extra, Duration timeout,
                                         Optional<String> key) {
        Map<String, Object> config = ClientConfig.consumer(bootstrapServers).withoutGroup().readCommitted().over(extra);
        return new PromotionReader(topics, new KafkaConsumer<>(config), timeout, key.map(PromotionSigner::new));
    }

    /**
     * A model's promotion records, oldest first (compaction keeps at least the newest), and how many were
     * skipped: undecodable, or refused by the signature check.
     */
    public record History(List<Promotion> promotions, int skipped) {
        /** The newest record, if any. */
        public Optional<Promotion> latest() {
            return promotions.isEmpty() ? Optional.empty() : Optional.of(promotions.get(promotions.size() - 1));
        }
    }

    /** Every readable promotion of {@code modelId}, oldest first; empty if the topic or the model has none. */
    public History history(String modelId) {
        String topic = topics.promotions().name();
        byte[] key = topics.promotions().serializeKey(modelId);
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, timeout);
        if (partitions == null || partitions.isEmpty()) {
            return new History(List.of(), 0);
        }
        TopicPartition tp = new TopicPartition(topic, SnapshotReader.partitionFor(key, partitions.size()));
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
        List<Promotion> out = new ArrayList<>();
        int skipped = 0;
        long last = 0;
        Instant deadline = Instant.now().plus(timeout);
        while (consumer.position(tp, timeout) < end) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException(String.format("could not read %s up to offset %d within %s (at %d); "
                        + "is the broker reachable?", tp, end, timeout, consumer.position(tp)));
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.key() == null || !Arrays.equals(r.key(), key)) {
                    continue;
                }
                if (r.value() == null) {
                    out.clear(); // a tombstone: the model's history starts again after it
                    last = 0;
                    continue;
                }
                try {
                    Promotion p = topics.promotions().deserializeValue(r.value());
                    verifier.ifPresent(v -> v.verify(p));
                    if (p.getSequence() > last) {
                        out.add(p);
                        last = p.getSequence();
                    } else {
                        skipped++;
                    }
                } catch (RecordDecodeException | io.rehearsal.models.snapshot.SnapshotFormatException e) {
                    skipped++;
                }
            }
        }
        return new History(List.copyOf(out), skipped);
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(1)));
    }
}
