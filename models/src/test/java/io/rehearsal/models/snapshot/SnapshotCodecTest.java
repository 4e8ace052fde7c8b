package io.rehearsal.models.snapshot;

import io.rehearsal.models.runtime.NamedTensor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SnapshotCodecTest {
    private static final AvroSerde<ModelSnapshot> SNAPSHOTS = AvroSerde.of(ModelSnapshot.class);
    private static final AvroSerde<SnapshotChunk> CHUNKS = AvroSerde.of(SnapshotChunk.class);
    private static final ModelSpec SPEC = ModelSpec.mlp(784, 10, 64, 32);
    private static List<NamedTensor> trained;
    private static List<float[]> probe;

    /** An in-memory chunk topic: records are stored Avro-encoded, as on Kafka. */
    static final class MemoryChunkTopic implements ChunkSource {
        final List<byte[]> records = new ArrayList<>();

        List<ChunkRef> append(List<SnapshotChunk> chunks) {
            List<ChunkRef> refs = new ArrayList<>();
            for (SnapshotChunk c : chunks) {
                records.add(CHUNKS.encode(c));
                refs.add(SnapshotCodec.reference("rehearsal.model-chunks", 0, records.size() - 1, c));
            }
            return refs;
        }

        @Override
        public SnapshotChunk read(ChunkRef ref) {
            return ref.getOffset() < records.size() ? CHUNKS.decode(records.get((int) ref.getOffset())) : null;
        }
    }

    @BeforeAll
    static void trainAModel() {
        SyntheticStream stream = new SyntheticStream("snap", 784, 10, 1);
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("snap", SPEC).optSeed(1).build())) {
            for (int i = 0; i < 5; i++) {
                t.train(stream.trainBatch(8, 2));
            }
            trained = t.parameters();
        }
        probe = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            probe.add(stream.sample(i % 10));
        }
    }

    static ModelSnapshot snapshot(byte[] blob, List<ChunkRef> refs, Optional<SnapshotSigner> signer) {
        SnapshotMetrics metrics = new SnapshotMetrics(40L, 1.0, 0.9, 0.1, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of());
        Provenance provenance = new Provenance(Map.of("seed", "1"), 1L, List.of(), List.of(), 0, "0.1.0", "abc",
                "17", "0.36.0", "2.7.1", "cpu()", "host");
        return SnapshotCodec.snapshot("snap", 3, 2L, 5, Instant.ofEpochMilli(1_700_000_000_123L), SPEC.toAvro(), blob,
                refs, metrics, provenance, signer);
    }

    @Test
    void shouldRoundTripParametersBitExactlyThroughAnInlineSnapshot() {
        // Given a trained model's parameters in an inline snapshot, Avro-encoded as on the topic
        byte[] blob = SnapshotCodec.encodeParameters(trained);
        byte[] wire = SNAPSHOTS.encode(snapshot(blob, List.of(), Optional.empty()));
        // When a reader decodes it and loads the weights into a differently seeded model
        ModelSnapshot read = SNAPSHOTS.decode(wire);
        List<NamedTensor> loaded = SnapshotCodec.parameters(read, ref -> null, Optional.empty());
        try (ContinualTrainer other = new ContinualTrainer(TrainerSettings.builder("snap", SPEC).optSeed(99).build());
             ContinualTrainer original = new ContinualTrainer(TrainerSettings.builder("snap", SPEC).optSeed(98).build())) {
            original.loadParameters(trained);
            float[][] before = other.probabilities(probe);
            other.loadParameters(loaded);
            // Then every parameter and every prediction is bit-identical to the original's
            List<NamedTensor> after = other.parameters();
            for (int i = 0; i < trained.size(); i++) {
                assertThat(after.get(i).data()).containsExactly(trained.get(i).data());
            }
            float[][] expected = original.probabilities(probe);
            float[][] actual = other.probabilities(probe);
            for (int i = 0; i < probe.size(); i++) {
                assertThat(actual[i]).containsExactly(expected[i]);
            }
            assertThat(before[0]).isNotEqualTo(actual[0]);
        }
        // and re-encoding the same weights gives the same bytes and hash
        assertThat(SnapshotCodec.encodeParameters(loaded)).isEqualTo(blob);
        assertThat(read.getParameters().getSha256()).isEqualTo(SnapshotCodec.sha256(blob)).hasSize(64);
    }

    @Test
    void shouldReassembleChunksInOrderAndVerifyEveryHash() {
        // Given a blob split into 7 KiB chunks on a chunk topic
        byte[] blob = SnapshotCodec.encodeParameters(trained);
        List<SnapshotChunk> chunks = SnapshotCodec.split("snap", 3, blob, 7 * 1024);
        MemoryChunkTopic topic = new MemoryChunkTopic();
        topic.records.add(new byte[] {1}); // someone else's record before ours
        List<ChunkRef> refs = topic.append(chunks);
        ModelSnapshot snapshot = SNAPSHOTS.decode(SNAPSHOTS.encode(snapshot(blob, refs, Optional.empty())));
        assertThat(snapshot.getParameters().getInline()).isNull();
        assertThat(refs).hasSize((blob.length + 7 * 1024 - 1) / (7 * 1024));
        // When it is reassembled, Then the blob is the original
        assertThat(SnapshotCodec.readParameters(snapshot, topic, Optional.empty())).isEqualTo(blob);

        // When one byte of one chunk is flipped, Then the snapshot is refused
        SnapshotChunk tampered = CHUNKS.decode(topic.records.get(3));
        byte[] data = SnapshotCodec.bytes(tampered.getData());
        data[100] ^= 1;
        tampered.setData(ByteBuffer.wrap(data));
        topic.records.set(3, CHUNKS.encode(tampered));
        assertThatThrownBy(() -> SnapshotCodec.readParameters(snapshot, topic, Optional.empty()))
                .isInstanceOf(SnapshotFormatException.class)
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.CHECKSUM)
                .hasMessageContaining("chunk 2 of snapshot snap version 3 (rehearsal.model-chunks-0@3) does not match "
                        + "its SHA-256 or size in the snapshot: it was altered or corrupted; refusing the snapshot");
    }

    @Test
    void shouldRefuseChunksOutOfOrderOrMissing() {
        byte[] blob = SnapshotCodec.encodeParameters(trained);
        MemoryChunkTopic topic = new MemoryChunkTopic();
        List<ChunkRef> refs = new ArrayList<>(topic.append(SnapshotCodec.split("snap", 3, blob, 64 * 1024)));
        ModelSnapshot swapped = snapshot(blob, List.of(refs.get(1), refs.get(0), refs.get(2), refs.get(3)), Optional.empty());
        assertThatThrownBy(() -> SnapshotCodec.readParameters(swapped, topic, Optional.empty()))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.MISSING_CHUNK)
                .hasMessageContaining("holds chunk 1/4 of snap version 3 instead");
        topic.records.remove(3);
        ModelSnapshot missing = snapshot(blob, refs, Optional.empty());
        assertThatThrownBy(() -> SnapshotCodec.readParameters(missing, topic, Optional.empty()))
                .hasMessageContaining("is missing; it was deleted or never committed");
    }

    @Test
    void shouldRefuseAnUnknownFormatVersionWithASentence() {
        ModelSnapshot future = snapshot(SnapshotCodec.encodeParameters(trained), List.of(), Optional.empty());
        future.setFormatVersion(2);
        assertThatThrownBy(() -> SnapshotCodec.readParameters(future, ref -> null, Optional.empty()))
                .isInstanceOf(SnapshotFormatException.class)
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.UNKNOWN_FORMAT)
                .hasMessage("snapshot snap version 3 has format version 2, but this reader only knows format version 1; "
                        + "upgrade the reader to one that knows format 2");
    }

    @Test
    void shouldSignAndVerifyWithHmacSha256() {
        SnapshotSigner signer = new SnapshotSigner("0123456789abcdef0123456789abcdef");
        byte[] blob = SnapshotCodec.encodeParameters(trained);
        ModelSnapshot signed = SNAPSHOTS.decode(SNAPSHOTS.encode(snapshot(blob, List.of(), Optional.of(signer))));
        assertThat(signed.getSignature()).matches("[0-9a-f]{64}");
        assertThat(SnapshotCodec.readParameters(signed, ref -> null, Optional.of(signer))).isEqualTo(blob);

        ModelSnapshot otherKey = snapshot(blob, List.of(), Optional.of(new SnapshotSigner("another key of 16+ bytes")));
        assertThatThrownBy(() -> SnapshotCodec.readParameters(otherKey, ref -> null, Optional.of(signer)))
                .hasMessageContaining("has a signature that does not match its contents");
        ModelSnapshot bumped = SNAPSHOTS.decode(SNAPSHOTS.encode(signed));
        bumped.setVersion(4);
        assertThatThrownBy(() -> signer.verify(bumped))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.BAD_SIGNATURE).hasMessageContaining("does not match its contents");
        ModelSnapshot unsigned = snapshot(blob, List.of(), Optional.empty());
        assertThatThrownBy(() -> signer.verify(unsigned))
                .hasFieldOrPropertyWithValue("reason", SnapshotFormatException.Reason.UNSIGNED).hasMessageContaining("is not signed");
    }

    @Test
    void shouldRefuseParametersOfAnotherArchitecture() {
        try (ContinualTrainer other = new ContinualTrainer(TrainerSettings.builder("snap", ModelSpec.mlp(784, 10, 64, 16)).build())) {
            assertThatThrownBy(() -> other.loadParameters(trained))
                    .hasMessageContaining("parameter 05Linear_weight has shape [32, 64] but model snap");
        }
    }
}
