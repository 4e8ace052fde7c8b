package io.rehearsal.models.subscribe;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.time.Instant;
import java.util.Objects;

/**
 * What a subscriber serves: the identity of a loaded snapshot, what it reported about its training, and
 * where it came from. Immutable once built; the Avro {@link SnapshotMetrics} and {@link Provenance} are
 * copies, safe to read from any thread.
 *
 * @param modelId       the model
 * @param version       the snapshot version, strictly increasing per model
 * @param parentVersion the version it was trained from, or null for the first
 * @param step          training steps taken when it was published
 * @param createdTime   when the trainer published it
 * @param spec          the network it describes
 * @param sha256        hex SHA-256 of its parameter blob (verified)
 * @param sizeBytes     size of the parameter blob
 * @param chunks        chunks the blob came in (0: inline)
 * @param signed        whether it carried a signature that was verified
 * @param metrics       the trainer's metrics since the previous snapshot
 * @param provenance    settings, offsets covered, versions of the software that trained it
 * @param loadedTime    when this subscriber started serving it
 */
public record ModelInfo(String modelId, long version, Long parentVersion, long step, Instant createdTime,
                        ModelSpec spec, String sha256, long sizeBytes, int chunks, boolean signed,
                        SnapshotMetrics metrics, Provenance provenance, Instant loadedTime) {
    public ModelInfo {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(provenance, "provenance");
        metrics = SnapshotMetrics.newBuilder(metrics).build();
        provenance = Provenance.newBuilder(provenance).build();
    }

    /** The description of a verified snapshot that starts being served at {@code loadedTime}. */
    static ModelInfo of(ModelSnapshot s, boolean signed, Instant loadedTime) {
        return new ModelInfo(s.getModelId(), s.getVersion(), s.getParentVersion(), s.getStep(), s.getCreatedTime(),
                ModelSpec.fromAvro(s.getSpec()), s.getParameters().getSha256(), s.getParameters().getSizeBytes(),
                s.getParameters().getChunks().size(), signed, s.getMetrics(), s.getProvenance(), loadedTime);
    }

    @Override
    public SnapshotMetrics metrics() {
        return SnapshotMetrics.newBuilder(metrics).build();
    }

    @Override
    public Provenance provenance() {
        return Provenance.newBuilder(provenance).build();
    }

    @Override
    public String toString() {
        return modelId + " v" + version + " (step " + step + ", " + spec + ", sha256 " + sha256.substring(0, Math.min(12, sha256.length())) + ")";
    }
}
