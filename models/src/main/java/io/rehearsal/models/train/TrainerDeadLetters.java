package io.rehearsal.models.train;

import io.rehearsal.schemas.DeadLetters;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's dead letters since the last snapshot: they go to the dead-letter topic in the next
 * snapshot's transaction, so a batch is dead-lettered exactly when its offset is covered.
 */
final class TrainerDeadLetters {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    private final String modelId;
    private final Topics topics;
    private final TrainerMetrics metrics;
    private final Clock clock;
    private final List<ProducerRecord<byte[], byte[]>> pending = new ArrayList<>();

    TrainerDeadLetters(String modelId, Topics topics, TrainerMetrics metrics, Clock clock) {
        this.modelId = modelId;
        this.topics = topics;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** A batch that cannot be used (undecodable, invalid, a step that was not finite). */
    void rejected(ConsumerRecord<byte[], byte[]> record, String reason, RuntimeException e) {
        LOG.warn("model {}: rejected batch at {}-{}@{} ({}): {}", modelId, record.topic(), record.partition(),
                record.offset(), reason, e.getMessage());
        metrics.rejected(reason);
        add(record.key(), DeadLetters.of(new DeadLetters.Origin(record.topic(), record.partition(), record.offset(),
                record.key(), record.value()), "trainer", reason, e.getMessage(), e.getClass().getName(), now()));
    }

    /** Items left out for want of features: one dead letter for the batch, naming them. */
    void featuresMissing(ConsumerRecord<byte[], byte[]> record, List<String> missing) {
        String message = String.format("%d items of the batch left out: no features on %s for samples %s%s (compacted "
                        + "away? a trainer more than %s behind the curator finds them gone)", missing.size(),
                topics.features().name(), missing.subList(0, Math.min(10, missing.size())), missing.size() > 10 ? "..." : "",
                Topics.FEATURES_KEPT_AFTER_RELEASE);
        LOG.warn("model {}: batch at {}-{}@{}: {}", modelId, record.topic(), record.partition(), record.offset(), message);
        metrics.rejected("FEATURES_MISSING");
        add(record.key(), DeadLetters.of(new DeadLetters.Origin(record.topic(), record.partition(), record.offset(),
                record.key(), record.value()), "trainer", "FEATURES_MISSING", message, null, now()));
    }

    /** The batches from {@code fromOffset} on, whose steps a roll-back undid: one dead letter for the range. */
    void rolledBack(TopicPartition partition, long fromOffset, String reason, String message) {
        metrics.rejected(reason);
        byte[] key = modelId.getBytes(StandardCharsets.UTF_8);
        add(key, DeadLetters.of(new DeadLetters.Origin(partition.topic(), partition.partition(), fromOffset, key, null),
                "trainer", reason, message, null, now()));
    }

    /** The dead letters for the next snapshot's transaction. */
    List<ProducerRecord<byte[], byte[]>> pending() {
        return List.copyOf(pending);
    }

    /** After a snapshot published them. */
    void clear() {
        pending.clear();
    }

    private void add(byte[] key, DeadLetter letter) {
        pending.add(new ProducerRecord<>(topics.deadLetters().name(), DeadLetters.recordKey(key),
                topics.deadLetters().serializeValue(letter)));
    }

    private Instant now() {
        return Instant.ofEpochMilli(clock.millis());
    }
}
