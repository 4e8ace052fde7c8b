package io.rehearsal.models.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.nio.charset.StandardCharsets;
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
        return content(4, blobBytes, 0);
    }

    /** Version {@code version} with a parameter blob and an optimizer state blob (none if 0 bytes). */
    private static SnapshotPublisher.Content content(long version, int blobBytes, int stateBytes) {
        return new SnapshotPublisher.Content(version, version - 1, 40, Instant.ofEpochMilli(1_700_000_000_000L),
                ModelSpec.mlp(4, 2).toAvro(), new byte[blobBytes], stateBytes == 0 ? null : new byte[stateBytes],
                new SnapshotMetrics(1L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
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
    void shouldPutTheOptimizerStateInlineOnlyWhereBothBlobsFitAndTombstoneItsChunksTwoVersionsLater() {
        // Given a publisher that inlines up to 1000 bytes of blobs per snapshot
        MockProducer<byte[], byte[]> producer = producer();
        SnapshotPublisher publisher = new SnapshotPublisher("m", "tx-m", TOPICS, producer, 1000, 1024, Optional.empty(),
                PublishHook.NONE);
        // When it publishes version 1 with 400 + 500 bytes, version 2 with 600 + 600, version 3 with 3000 + 1500
        ModelSnapshot v1 = publisher.publish(content(1, 400, 500), OFFSETS, new ConsumerGroupMetadata("g"), List.of());
        ModelSnapshot v2 = publisher.publish(content(2, 600, 600), OFFSETS, new ConsumerGroupMetadata("g"), List.of());
        ModelSnapshot v3 = publisher.publish(content(3, 3000, 1500), OFFSETS, new ConsumerGroupMetadata("g"), List.of());
        publisher.publish(content(4, 100, 100), OFFSETS, new ConsumerGroupMetadata("g"), List.of());
        publisher.publish(content(5, 100, 100), OFFSETS, new ConsumerGroupMetadata("g"), List.of());

        // Then version 1 has both inline; version 2 its parameters inline and its state in a chunk; version 3 both chunked
        assertThat(v1.getParameters().getInline()).isNotNull();
        assertThat(v1.getOptimizerState().getInline()).isNotNull();
        assertThat(v1.getOptimizerState().getSha256()).isEqualTo(SnapshotCodec.sha256(new byte[500]));
        assertThat(v2.getParameters().getInline()).isNotNull();
        assertThat(v2.getOptimizerState().getChunks()).hasSize(1);
        assertThat(v3.getParameters().getChunks()).hasSize(3);
        assertThat(v3.getOptimizerState().getChunks()).hasSize(2);
        // under keys of their own, which versions 4 and 5 tombstone
        List<String> chunkKeys = producer.history().stream().filter(r -> r.topic().equals("rehearsal.model-chunks"))
                .map(r -> (r.value() == null ? "tombstone " : "") + new String(r.key(), StandardCharsets.UTF_8)).toList();
        assertThat(chunkKeys).containsExactly("m/2/optimizer-0", "m/3/0", "m/3/1", "m/3/2", "m/3/optimizer-0",
                "m/3/optimizer-1", "tombstone m/2/optimizer-0", "tombstone m/3/0", "tombstone m/3/1", "tombstone m/3/2",
                "tombstone m/3/optimizer-0", "tombstone m/3/optimizer-1");
        assertThat(SnapshotCodec.chunkKeys(v3)).containsExactly("m/3/0", "m/3/1", "m/3/2", "m/3/optimizer-0",
                "m/3/optimizer-1");
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
