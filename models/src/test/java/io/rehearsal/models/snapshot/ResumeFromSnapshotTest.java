package io.rehearsal.models.snapshot;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.SnapshotCodecTest.MemoryChunkTopic;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.OptimizerKind;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A trainer rebuilt from a snapshot, weights and optimizer state, continues bit for bit as one that
 * never stopped, with SGD momentum (the default) and with Adam; the optimizer state is hashed, chunked
 * and signed like the weights.
 */
class ResumeFromSnapshotTest {
    private static final AvroSerde<ModelSnapshot> SNAPSHOTS = AvroSerde.of(ModelSnapshot.class);
    private static final AvroSerde<SnapshotChunk> CHUNKS = AvroSerde.of(SnapshotChunk.class);
    private static final ModelSpec SPEC = ModelSpec.mlp(20, 4, 32);
    private static final SnapshotSigner SIGNER = new SnapshotSigner("resume-test-signing-key-0123456789");
    private static final int K = 15;

    private static List<TrainBatch> batches(int n) {
        SyntheticStream stream = new SyntheticStream("resume", 20, 4, 9);
        List<TrainBatch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(stream.trainBatch(8, 3));
        }
        return out;
    }

    /** A signed snapshot of the trainer: weights inline, optimizer state in 1 KiB chunks on {@code topic}. */
    private static ModelSnapshot snapshotOf(ContinualTrainer t, MemoryChunkTopic topic) {
        byte[] weights = SnapshotCodec.encodeParameters(t.parameters());
        byte[] state = SnapshotCodec.encodeParameters(t.optimizerState());
        ParameterBlob stateBlob = SnapshotCodec.blob(state, topic.append(SnapshotCodec.split("resume", 2, state, 1024)));
        ModelSnapshot s = SnapshotCodec.snapshot("resume", 2, 1L, t.step(), Instant.ofEpochMilli(1_700_000_000_000L),
                SPEC.toAvro(), SnapshotCodec.blob(weights, List.of()), stateBlob,
                new SnapshotMetrics(t.samplesSeen(), 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                new Provenance(Map.of(), 42L, List.of(), List.of(), 0, "v", "sha", "17", "0.36.0", "2.7.1", "cpu()", "h"),
                Optional.of(SIGNER));
        return SNAPSHOTS.decode(SNAPSHOTS.encode(s)); // as a reader gets it from the topic
    }

    @Test
    void shouldContinueBitIdenticallyFromASnapshotWithItsOptimizerState() {
        List<TrainBatch> batches = batches(2 * K);
        for (TrainerSettings settings : List.of(TrainerSettings.builder("resume", SPEC).build(), // SGD, momentum 0.9
                TrainerSettings.builder("resume", SPEC).optOptimizer(OptimizerKind.ADAM, 1e-3f).build())) {
            // Given a trainer that trains 2k steps without a stop
            try (ContinualTrainer uninterrupted = new ContinualTrainer(settings);
                 ContinualTrainer first = new ContinualTrainer(settings);
                 ContinualTrainer resumed = new ContinualTrainer(settings);
                 ContinualTrainer withoutState = new ContinualTrainer(settings)) {
                batches.forEach(uninterrupted::train);
                // and one that trains k steps and publishes a snapshot (chunked, signed, Avro round trip)
                batches.subList(0, K).forEach(first::train);
                MemoryChunkTopic topic = new MemoryChunkTopic();
                ModelSnapshot snapshot = snapshotOf(first, topic);
                assertThat(snapshot.getOptimizerState().getChunks()).hasSizeGreaterThan(1);

                // When a new trainer is built from the verified snapshot and trains the k steps after it
                resumed.loadParameters(SnapshotCodec.parameters(snapshot, topic, Optional.of(SIGNER)));
                resumed.loadOptimizerState(SnapshotCodec.optimizerState(snapshot, topic, Optional.of(SIGNER)).orElseThrow());
                resumed.resumeAt(snapshot.getStep(), snapshot.getMetrics().getSamplesSeen());
                batches.subList(K, 2 * K).forEach(resumed::train);

                // Then its weights and optimizer state are bit-identical to the uninterrupted trainer's
                assertBitIdentical(resumed.parameters(), uninterrupted.parameters());
                assertBitIdentical(resumed.optimizerState(), uninterrupted.optimizerState());
                assertThat(resumed.step()).isEqualTo(uninterrupted.step());
                // while weights alone (as before snapshots carried the state) end elsewhere
                withoutState.loadParameters(SnapshotCodec.parameters(snapshot, topic, Optional.of(SIGNER)));
                withoutState.resumeAt(snapshot.getStep(), snapshot.getMetrics().getSamplesSeen());
                batches.subList(K, 2 * K).forEach(withoutState::train);
                assertThat(withoutState.parameters().get(0).data()).as(settings.optimizer().name())
                        .isNotEqualTo(uninterrupted.parameters().get(0).data());
            }
        }
    }

    @Test
    void shouldSignTheOptimizerStateAndRefuseItAlteredOrDropped() {
        MemoryChunkTopic topic = new MemoryChunkTopic();
        ModelSnapshot snapshot;
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("resume", SPEC).build())) {
            batches(3).forEach(t::train);
            snapshot = snapshotOf(t, topic);
        }
        assertThat(SnapshotSigner.signedText(snapshot)).endsWith("optimizerState.encoding=npz\noptimizerState.sizeBytes="
                + snapshot.getOptimizerState().getSizeBytes() + "\noptimizerState.sha256=" + snapshot.getOptimizerState().getSha256() + "\n");
        // Given the state dropped, or its hash replaced: the signature no longer matches
        ModelSnapshot dropped = ModelSnapshot.newBuilder(snapshot).setOptimizerState(null).build();
        assertThatThrownBy(() -> SnapshotCodec.readParameters(dropped, topic, Optional.of(SIGNER)))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.BAD_SIGNATURE);
        ModelSnapshot rehashed = ModelSnapshot.newBuilder(snapshot).build();
        rehashed.getOptimizerState().setSha256("00".repeat(32));
        assertThatThrownBy(() -> SnapshotCodec.optimizerState(rehashed, topic, Optional.of(SIGNER)))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.BAD_SIGNATURE);
        // Given one byte of a state chunk flipped: the state is refused by its hashes, the weights still read
        SnapshotChunk tampered = CHUNKS.decode(topic.records.get(1));
        byte[] data = SnapshotCodec.bytes(tampered.getData());
        data[10] ^= 1;
        tampered.setData(ByteBuffer.wrap(data));
        topic.records.set(1, CHUNKS.encode(tampered));
        assertThatThrownBy(() -> SnapshotCodec.optimizerState(snapshot, topic, Optional.of(SIGNER)))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.CHECKSUM)
                .hasMessageContaining("chunk 1 of the optimizer state of snapshot resume version 2 (rehearsal.model-chunks-0@1)");
        assertThat(SnapshotCodec.parameters(snapshot, topic, Optional.of(SIGNER))).isNotEmpty();
    }

    @Test
    void shouldFindNoOptimizerStateInASnapshotWithoutOne() {
        // a snapshot of an older trainer, or of SGD without momentum, which has no state to save
        try (ContinualTrainer plain = new ContinualTrainer(TrainerSettings.builder("resume", SPEC).optMomentum(0f).build())) {
            batches(2).forEach(plain::train);
            assertThat(plain.optimizerState()).isEmpty();
            ModelSnapshot snapshot = SnapshotCodec.snapshot("resume", 1, null, 2, Instant.ofEpochMilli(0), SPEC.toAvro(),
                    SnapshotCodec.encodeParameters(plain.parameters()), List.of(),
                    new SnapshotMetrics(0L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                    new Provenance(Map.of(), 42L, List.of(), List.of(), 0, "v", "sha", "17", "0.36.0", "2.7.1", "cpu()", "h"),
                    Optional.of(SIGNER));

            assertThat(SnapshotCodec.optimizerState(snapshot, ref -> null, Optional.of(SIGNER))).isEmpty();
            assertThat(SnapshotSigner.signedText(snapshot)).doesNotContain("optimizerState");
        }
    }

}
