package io.rehearsal.models.subscribe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ExampleModules;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.snapshot.SnapshotPublisher;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots of a user's TorchScript network (schema version 4): the publisher writes the module's chunks once and
 * every later snapshot references them (never tombstoned, not rewritten after a resume); a subscriber loads the
 * module and the weights and predicts what the trainer predicts; an architecture that is not the module the signed
 * spec names is refused.
 */
@RequiresTool(Tool.PYTHON_TORCH)
class TorchScriptSnapshotTest {
    private static final Topics TOPICS = Topics.defaults();
    private static final AvroSerde<ModelSnapshot> SNAPSHOTS = AvroSerde.of(ModelSnapshot.class);
    private static final AvroSerde<SnapshotChunk> CHUNKS = AvroSerde.of(SnapshotChunk.class);
    private static final SnapshotSigner SIGNER = new SnapshotSigner(Snapshots.KEY);

    /** The chunk topic as the MockProducer wrote it: offset = position among the records sent to it. */
    private static ChunkSource chunksOf(MockProducer<byte[], byte[]> producer) {
        List<ProducerRecord<byte[], byte[]>> chunks = producer.history().stream()
                .filter(r -> r.topic().equals(TOPICS.modelChunks().name())).toList();
        return ref -> ref.getOffset() < chunks.size() && chunks.get((int) ref.getOffset()).value() != null
                ? CHUNKS.decode(chunks.get((int) ref.getOffset()).value()) : null;
    }

    private static List<String> keys(MockProducer<byte[], byte[]> producer, boolean tombstones) {
        return producer.history().stream().filter(r -> r.topic().equals(TOPICS.modelChunks().name()))
                .filter(r -> (r.value() == null) == tombstones).map(r -> new String(r.key())).toList();
    }

    private static MockProducer<byte[], byte[]> producer() {
        MockProducer<byte[], byte[]> p = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        p.initTransactions();
        return p;
    }

    private static SnapshotPublisher.Content content(ContinualTrainer t, TorchScriptModule module, long version) {
        return new SnapshotPublisher.Content(version, version == 1 ? null : version - 1, t.step(),
                Instant.ofEpochMilli(1_700_000_000_000L), t.spec().toAvro(), SnapshotCodec.encodeParameters(t.parameters()),
                SnapshotCodec.encodeParameters(t.optimizerState()), module.bytes(),
                new SnapshotMetrics(1L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, List.of()),
                new Provenance(Map.of(), 1L, List.of(), List.of(), 0, "v", "sha", "17", "0.36.0", "2.7.1", "cpu()", "h"));
    }

    @Test
    void shouldWriteTheModuleOnceAndServeWhatTheTrainerPredicts(@TempDir Path dir) {
        TorchScriptModule module = ExampleModules.head(dir, Snapshots.DIMS, 32, Snapshots.CLASSES, 3);
        SyntheticStream stream = new SyntheticStream("ts", Snapshots.DIMS, Snapshots.CLASSES, 3);
        TrainerSettings settings = TrainerSettings.builder("ts",
                        module.spec(List.of(Snapshots.DIMS), Snapshots.CLASSES, Map.of()))
                .optModule(module).optSeed(7).build();
        List<float[]> probes = Snapshots.probes(12);
        MockProducer<byte[], byte[]> producer = producer();
        // chunks of 64 KiB, blobs inline up to 1 KiB: the module (about 20 KB) in one chunk, the weights in chunks
        SnapshotPublisher publisher = new SnapshotPublisher("ts", "tx-ts", TOPICS, producer, 1024, 64 * 1024,
                Optional.of(SIGNER), PublishHook.NONE);
        List<ModelSnapshot> published = new ArrayList<>();
        float[][] expected;
        try (ContinualTrainer trainer = new ContinualTrainer(settings)) {
            for (int v = 1; v <= 4; v++) {
                for (int i = 0; i < 5; i++) {
                    trainer.train(stream.trainBatch(8, 2));
                }
                published.add(SNAPSHOTS.decode(SNAPSHOTS.encode(publisher.publish(content(trainer, module, v), Map.of(),
                        new ConsumerGroupMetadata("g"), List.of()))));
            }
            expected = trainer.probabilities(probes);
        }
        String prefix = "ts/architecture/" + module.sha256() + "/";
        // the module's chunks were written once, by version 1, and never tombstoned
        assertThat(keys(producer, false)).filteredOn(k -> k.startsWith(prefix)).containsExactly(prefix + "0");
        assertThat(keys(producer, true)).isNotEmpty().noneMatch(k -> k.contains("/architecture/"));
        ParameterBlob first = published.get(0).getArchitecture();
        assertThat(first.getSha256()).isEqualTo(module.sha256());
        assertThat(first.getEncoding()).isEqualTo("torchscript");
        assertThat(published).allSatisfy(s -> assertThat(s.getArchitecture()).isEqualTo(first));
        // a publisher resumed from version 4 references the same chunks and does not write them again
        MockProducer<byte[], byte[]> resumedProducer = producer();
        SnapshotPublisher resumed = new SnapshotPublisher("ts", "tx-ts", TOPICS, resumedProducer, 1024, 64 * 1024,
                Optional.of(SIGNER), PublishHook.NONE);
        resumed.remember(published.get(3));
        try (ContinualTrainer trainer = new ContinualTrainer(settings)) {
            ModelSnapshot v5 = resumed.publish(content(trainer, module, 5), Map.of(), new ConsumerGroupMetadata("g"),
                    List.of());
            assertThat(v5.getArchitecture()).isEqualTo(first);
            assertThat(keys(resumedProducer, false)).noneMatch(k -> k.contains("/architecture/"));
        }

        // a subscriber loads the module and the weights of version 4 and predicts what the trainer predicts
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ModelSubscriber subscriber = ModelSubscriber.detached(SubscriberSettings.builder("ts")
                .optVerifyKey(Snapshots.KEY).build(), registry)) {
            ChunkSource chunks = chunksOf(producer);
            assertThat(subscriber.offer(published.get(2), chunks)).isTrue();
            assertThat(subscriber.offer(published.get(3), chunks)).isTrue();
            List<ModelPrediction> predictions = subscriber.predict(probes);
            for (int i = 0; i < probes.size(); i++) {
                for (int k = 0; k < Snapshots.CLASSES; k++) {
                    assertThat(predictions.get(i).probabilities()[k]).isCloseTo(expected[i][k], within(1e-6f));
                }
            }
            // an architecture blob that is not the module the signed spec names is refused
            ModelSnapshot forged = ModelSnapshot.newBuilder(published.get(3))
                    .setArchitecture(ParameterBlob.newBuilder(first).setSha256("00".repeat(32)).build()).build();
            forged.setSignature(SIGNER.sign(forged));
            try (ModelSubscriber fresh = ModelSubscriber.detached(SubscriberSettings.builder("ts")
                    .optVerifyKey(Snapshots.KEY).build(), registry)) {
                assertThat(fresh.offer(forged, chunks)).isFalse();
            }
            assertThat(registry.get("rehearsal.subscriber.snapshots.refused").tag("reason", Reason.CHECKSUM.name())
                    .counter().count()).isEqualTo(1);
        }
    }
}
