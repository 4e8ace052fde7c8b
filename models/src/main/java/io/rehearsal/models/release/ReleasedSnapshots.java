package io.rehearsal.models.release;

import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The snapshot a promotion carries: the trainer's {@link ModelSnapshot}, unchanged in everything its
 * signature covers, with its weights moved to chunks on the releases topic (where they stay while the
 * version is served or a rollback target, whatever the trainer tombstones) and its optimizer state's bytes
 * left out (only a trainer reads them; the descriptor and its hash stay, so the trainer's signature still
 * verifies). Encoded as on the model-updates topic (single-object encoding), so any Avro reader decodes it.
 */
public final class ReleasedSnapshots {
    private static final AvroSerde<ModelSnapshot> SERDE = AvroSerde.of(ModelSnapshot.class);

    private ReleasedSnapshots() {
    }

    /** {@code snapshot} as released: its weights at {@code chunks} (on the releases topic), no optimizer bytes. */
    public static ModelSnapshot released(ModelSnapshot snapshot, List<ChunkRef> chunks) {
        ParameterBlob p = snapshot.getParameters();
        ParameterBlob weights = new ParameterBlob(p.getEncoding(), p.getSizeBytes(), p.getSha256(), null, List.copyOf(chunks));
        ParameterBlob o = snapshot.getOptimizerState();
        ParameterBlob state = o == null ? null : new ParameterBlob(o.getEncoding(), o.getSizeBytes(), o.getSha256(), null, List.of());
        return ModelSnapshot.newBuilder(snapshot).setParameters(weights).setOptimizerState(state).build();
    }

    /** The bytes a promotion carries. */
    public static ByteBuffer encode(ModelSnapshot snapshot) {
        return ByteBuffer.wrap(SERDE.encode(snapshot));
    }

    /**
     * The snapshot a promotion carries.
     *
     * @throws SnapshotFormatException {@code MALFORMED} if the bytes do not decode as a snapshot
     */
    public static ModelSnapshot decode(ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate();
        byte[] raw = new byte[b.remaining()];
        b.get(raw);
        try {
            return SERDE.decode(raw);
        } catch (RecordDecodeException e) {
            throw new SnapshotFormatException(Reason.MALFORMED, "the snapshot a promotion carries does not decode: "
                    + e.getMessage(), e);
        }
    }

    /** The promoted snapshot of a promotion record, if it has one. */
    public static Optional<ModelSnapshot> promoted(io.rehearsal.schemas.avro.Promotion promotion) {
        return Optional.ofNullable(promotion.getPromotedSnapshot()).map(ReleasedSnapshots::decode);
    }

    /** The key of a released chunk: {@code modelId/version/index}, as on the chunk topic. */
    public static String chunkKey(String modelId, long version, int index) {
        return SnapshotCodec.chunkKey(modelId, version, index);
    }
}
