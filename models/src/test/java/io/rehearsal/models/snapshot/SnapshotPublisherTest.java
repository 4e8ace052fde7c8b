package io.rehearsal.models.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The publisher's failure paths, which a real broker does not produce on demand (Kafka's MockProducer). */
class SnapshotPublisherTest {
    private static final Topics TOPICS = Topics.defaults();
    private static final Map<TopicPartition, OffsetAndMetadata> OFFSETS =
            Map.of(new TopicPartition("rehearsal.train-batches", 0), new OffsetAndMetadata(7));

    private static SnapshotPublisher.Content content(int blobBytes) {
        return new SnapshotPublisher.Content(4, 3L, 40, Instant.ofEpochMilli(1_700_000_000_000L),
                ModelSpec.mlp(4, 2).toAvro(), new byte[blobBytes],
                new SnapshotMetrics(1L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of()),
                new Provenance(Map.of(), 1L, List.of(), List.of(), 0, "v", "sha", "17", "0.36.0", "2.7.1", "cpu()", "h"));
    }

    private static MockProducer<byte[], byte[]> producer() {
        MockProducer<byte[], byte[]> p = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        p.initTransactions();
        return p;
    }

    @Test
    void shouldWriteChunksSnapshotAndOffsetsInOneCommittedTransaction() {
        MockProducer<byte[], byte[]> producer = producer();
        SnapshotPublisher publisher = new SnapshotPublisher("m", "tx-m", TOPICS, producer, 1000, 1024, Optional.empty(),
                PublishHook.NONE);
        ModelSnapshot snapshot = publisher.publish(content(3000), OFFSETS, new ConsumerGroupMetadata("g"), List.of());
        assertThat(producer.transactionCommitted()).isTrue();
        assertThat(producer.history()).extracting(r -> r.topic()).containsExactly("rehearsal.model-chunks",
                "rehearsal.model-chunks", "rehearsal.model-chunks", "rehearsal.model-updates");
        assertThat(snapshot.getParameters().getChunks()).hasSize(3);
        assertThat(producer.consumerGroupOffsetsHistory()).singleElement()
                .satisfies(byGroup -> assertThat(byGroup.get("g")).isEqualTo(OFFSETS));
    }

    @Test
    void shouldAbortAndThrowWhenTheCommitFails() {
        MockProducer<byte[], byte[]> producer = producer();
        producer.commitTransactionException = new KafkaException("broker unreachable");
        SnapshotPublisher publisher = new SnapshotPublisher("m", "tx-m", TOPICS, producer, 1 << 20, 1 << 20,
                Optional.empty(), PublishHook.NONE);
        assertThatThrownBy(() -> publisher.publish(content(100), OFFSETS, new ConsumerGroupMetadata("g"), List.of()))
                .isInstanceOf(SnapshotPublishException.class)
                .hasMessageContaining("could not publish snapshot version 4 of model m (100 parameter bytes)")
                .hasMessageContaining("The transaction was aborted");
        assertThat(producer.transactionAborted()).isTrue();
        assertThat(producer.transactionCommitted()).isFalse();
    }

    @Test
    void shouldStopWithAClearErrorWhenFenced() {
        MockProducer<byte[], byte[]> producer = producer();
        producer.fenceProducer();
        SnapshotPublisher publisher = new SnapshotPublisher("m", "tx-m", TOPICS, producer, 1 << 20, 1 << 20,
                Optional.empty(), PublishHook.NONE);
        assertThatThrownBy(() -> publisher.publish(content(100), OFFSETS, new ConsumerGroupMetadata("g"), List.of()))
                .isInstanceOf(TrainerFencedException.class)
                .hasMessageStartingWith("the trainer of model m was fenced: another trainer started with transactional.id tx-m");
        assertThatThrownBy(() -> publisher.publish(content(100), OFFSETS, new ConsumerGroupMetadata("g"), List.of()))
                .isInstanceOf(IllegalStateException.class);
    }
}
