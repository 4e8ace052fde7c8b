package io.rehearsal.models.subscribe;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotSigner;
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

/** Snapshots of real trained weights for subscriber tests, inline or chunked, signed or not, intact or tampered. */
final class Snapshots {
    static final int DIMS = 20;
    static final int CLASSES = 4;
    static final ModelSpec SPEC = ModelSpec.mlp(DIMS, CLASSES, 32);
    static final String KEY = "0123456789abcdef0123456789abcdef";
    private static final AvroSerde<SnapshotChunk> CHUNKS = AvroSerde.of(SnapshotChunk.class);

    private Snapshots() {
    }

    static TrainerSettings.Builder trainer(String modelId) {
        return TrainerSettings.builder(modelId, SPEC).optLambda(1f, 5, 5).optSeed(7);
    }

    /** Weights after {@code steps} training steps on a seeded blob stream: each step count gives other weights. */
    static List<NamedTensor> weights(int steps) {
        SyntheticStream stream = new SyntheticStream("m", DIMS, CLASSES, 3);
        try (ContinualTrainer t = new ContinualTrainer(trainer("m").build())) {
            for (int i = 0; i < steps; i++) {
                t.train(stream.trainBatch(8, 2));
            }
            return t.parameters();
        }
    }

    /** Probe inputs, one per class and then some. */
    static List<float[]> probes(int n) {
        SyntheticStream stream = new SyntheticStream("m", DIMS, CLASSES, 3);
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(stream.sample(i % CLASSES));
        }
        return out;
    }

    static ModelSnapshot inline(String modelId, long version, List<NamedTensor> weights, Optional<SnapshotSigner> signer) {
        return snapshot(modelId, version, SPEC, SnapshotCodec.encodeParameters(weights), List.of(), signer);
    }

    static ModelSnapshot snapshot(String modelId, long version, ModelSpec spec, byte[] blob, List<ChunkRef> refs,
                                  Optional<SnapshotSigner> signer) {
        SnapshotMetrics metrics = new SnapshotMetrics(40L * version, 1.0, 0.9, 0.1, 0.5, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of());
        Provenance provenance = new Provenance(Map.of("seed", "7"), 7L, List.of(), List.of(), 0, "0.1.0", "abc",
                "17", "0.36.0", "2.7.1", "cpu()", "host");
        return SnapshotCodec.snapshot(modelId, version, version > 1 ? version - 1 : null, 10 * version,
                Instant.now(), spec.toAvro(), blob, refs, metrics, provenance, signer);
    }

    static SnapshotSigner signer() {
        return new SnapshotSigner(KEY);
    }

    /** A copy whose inline blob has one byte flipped (its recorded SHA-256 is the original's). */
    static ModelSnapshot flipInlineByte(ModelSnapshot s, int index) {
        ModelSnapshot copy = ModelSnapshot.newBuilder(s).build();
        ByteBuffer inline = copy.getParameters().getInline().duplicate();
        byte[] data = new byte[inline.remaining()];
        inline.get(data);
        data[index] ^= 0x01;
        copy.getParameters().setInline(ByteBuffer.wrap(data));
        return copy;
    }

    /** An in-memory chunk topic: records are stored Avro-encoded, as on Kafka. */
    static final class MemoryChunks implements ChunkSource {
        final List<byte[]> records = new ArrayList<>();

        List<ChunkRef> append(List<SnapshotChunk> chunks) {
            List<ChunkRef> refs = new ArrayList<>();
            for (SnapshotChunk c : chunks) {
                records.add(CHUNKS.encode(c));
                refs.add(SnapshotCodec.reference("rehearsal.model-chunks", 0, records.size() - 1, c));
            }
            return refs;
        }

        /** Flips one byte of the data of the chunk stored at {@code offset}. */
        void flip(int offset, int index) {
            SnapshotChunk chunk = CHUNKS.decode(records.get(offset));
            ByteBuffer buffer = chunk.getData().duplicate();
            byte[] data = new byte[buffer.remaining()];
            buffer.get(data);
            data[index] ^= 0x01;
            chunk.setData(ByteBuffer.wrap(data));
            records.set(offset, CHUNKS.encode(chunk));
        }

        @Override
        public SnapshotChunk read(ChunkRef ref) {
            return ref.getOffset() < records.size() ? CHUNKS.decode(records.get((int) ref.getOffset())) : null;
        }
    }
}
