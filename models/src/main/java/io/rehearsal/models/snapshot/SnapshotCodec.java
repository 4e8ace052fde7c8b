package io.rehearsal.models.snapshot;

import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Snapshot format version {@value #FORMAT_VERSION}: parameters as an {@link NpzFormat npz} blob with a
 * SHA-256, carried inline in the {@link ModelSnapshot} when small, else split into ordered {@link
 * SnapshotChunk}s on the chunk topic that the snapshot lists by {@link ChunkRef} (each with its own
 * SHA-256). Readers call {@link #readParameters}, which refuses unknown format versions and checks
 * every hash (and the signature when a key is configured).
 */
public final class SnapshotCodec {
    /** The only format version this code writes and reads. */
    public static final int FORMAT_VERSION = 1;

    private SnapshotCodec() {
    }

    /** Parameters to the blob. */
    public static byte[] encodeParameters(List<NamedTensor> tensors) {
        return NpzFormat.write(tensors);
    }

    /** Blob to parameters. */
    public static List<NamedTensor> decodeParameters(String encoding, byte[] blob) {
        if (!NpzFormat.ENCODING.equals(encoding)) {
            throw new SnapshotFormatException(Reason.UNKNOWN_FORMAT, "parameter encoding '" + encoding + "' is unknown to this reader, which "
                    + "reads only '" + NpzFormat.ENCODING + "'; upgrade the reader");
        }
        try {
            return NpzFormat.read(blob);
        } catch (IllegalArgumentException e) {
            throw new SnapshotFormatException(Reason.MALFORMED, "the parameter blob cannot be decoded: " + e.getMessage(), e);
        }
    }

    /** Lowercase hex SHA-256. */
    public static String sha256(byte[] bytes) {
        return sha256(bytes, 0, bytes.length);
    }

    static String sha256(byte[] bytes, int offset, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(bytes, offset, length);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }

    /** Splits {@code blob} into chunks of at most {@code chunkBytes}, in order. */
    public static List<SnapshotChunk> split(String modelId, long version, byte[] blob, int chunkBytes) {
        int count = Math.max(1, (blob.length + chunkBytes - 1) / chunkBytes);
        List<SnapshotChunk> chunks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * chunkBytes;
            int to = Math.min(blob.length, from + chunkBytes);
            chunks.add(new SnapshotChunk(modelId, version, i, count, ByteBuffer.wrap(Arrays.copyOfRange(blob, from, to))));
        }
        return chunks;
    }

    /** The key of a chunk on the chunk topic: {@code modelId/version/index}. */
    public static String chunkKey(String modelId, long version, int index) {
        return modelId + "/" + version + "/" + index;
    }

    /** The reference to a chunk that was written at {@code partition}/{@code offset} of {@code topic}. */
    public static ChunkRef reference(String topic, int partition, long offset, SnapshotChunk chunk) {
        byte[] data = bytes(chunk.getData());
        return new ChunkRef(topic, partition, offset, data.length, sha256(data));
    }

    /**
     * The snapshot for a blob: inline when {@code chunks} is empty, else referencing them; signed when a
     * signer is given.
     */
    public static ModelSnapshot snapshot(String modelId, long version, Long parentVersion, long step, Instant created,
                                         ModelSpec spec, byte[] blob, List<ChunkRef> chunks, SnapshotMetrics metrics,
                                         Provenance provenance, Optional<SnapshotSigner> signer) {
        ParameterBlob parameters = new ParameterBlob(NpzFormat.ENCODING, (long) blob.length, sha256(blob),
                chunks.isEmpty() ? ByteBuffer.wrap(blob) : null, List.copyOf(chunks));
        ModelSnapshot snapshot = new ModelSnapshot(modelId, version, parentVersion, step,
                Instant.ofEpochMilli(created.toEpochMilli()), FORMAT_VERSION, spec, parameters, null, metrics, provenance, null);
        signer.ifPresent(s -> snapshot.setSignature(s.sign(snapshot)));
        return snapshot;
    }

    /**
     * @throws SnapshotFormatException if this code does not know the snapshot's format version
     */
    public static void checkFormat(ModelSnapshot snapshot) {
        if (snapshot.getFormatVersion() != FORMAT_VERSION) {
            throw new SnapshotFormatException(Reason.UNKNOWN_FORMAT, String.format("snapshot %s version %d has format version %d, but this "
                            + "reader only knows format version %d; upgrade the reader to one that knows format %d",
                    snapshot.getModelId(), snapshot.getVersion(), snapshot.getFormatVersion(), FORMAT_VERSION,
                    snapshot.getFormatVersion()));
        }
    }

    /**
     * The verified parameter blob of a snapshot: format checked, signature checked when {@code verifier}
     * is given, chunks fetched in order from {@code chunks} and each checked against its reference, the
     * whole checked against the snapshot's size and SHA-256.
     *
     * @throws SnapshotFormatException on any mismatch; nothing partial is returned
     */
    public static byte[] readParameters(ModelSnapshot snapshot, ChunkSource chunks, Optional<SnapshotSigner> verifier) {
        checkFormat(snapshot);
        verifier.ifPresent(v -> v.verify(snapshot));
        ParameterBlob p = snapshot.getParameters();
        String what = "snapshot " + snapshot.getModelId() + " version " + snapshot.getVersion();
        byte[] blob;
        if (p.getInline() != null) {
            blob = bytes(p.getInline());
        } else {
            if (p.getChunks().isEmpty()) {
                throw new SnapshotFormatException(Reason.MALFORMED, what + " has neither inline parameters nor chunks; it is malformed");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            List<ChunkRef> refs = p.getChunks();
            for (int i = 0; i < refs.size(); i++) {
                ChunkRef ref = refs.get(i);
                SnapshotChunk chunk = chunks.read(ref);
                String where = String.format("chunk %d of %s (%s-%d@%d)", i, what, ref.getTopic(), ref.getPartition(),
                        ref.getOffset());
                if (chunk == null) {
                    throw new SnapshotFormatException(Reason.MISSING_CHUNK, where + " is missing; it was deleted or never committed");
                }
                if (!chunk.getModelId().equals(snapshot.getModelId()) || chunk.getVersion() != snapshot.getVersion()
                        || chunk.getIndex() != i || chunk.getCount() != refs.size()) {
                    throw new SnapshotFormatException(Reason.MISSING_CHUNK, String.format("%s holds chunk %d/%d of %s version %d instead; "
                                    + "the reference is wrong or the topic was rewritten", where, chunk.getIndex(),
                            chunk.getCount(), chunk.getModelId(), chunk.getVersion()));
                }
                byte[] data = bytes(chunk.getData());
                if (data.length != ref.getSizeBytes() || !sha256(data).equals(ref.getSha256())) {
                    throw new SnapshotFormatException(Reason.CHECKSUM, where + " does not match its SHA-256 or size in the snapshot: "
                            + "it was altered or corrupted; refusing the snapshot");
                }
                out.writeBytes(data);
            }
            blob = out.toByteArray();
        }
        if (blob.length != p.getSizeBytes() || !sha256(blob).equals(p.getSha256())) {
            throw new SnapshotFormatException(Reason.CHECKSUM, what + ": the parameter blob does not match the snapshot's SHA-256 or size; "
                    + "it was altered or corrupted; refusing the snapshot");
        }
        return blob;
    }

    /** Decoded, verified parameters of a snapshot (see {@link #readParameters}). */
    public static List<NamedTensor> parameters(ModelSnapshot snapshot, ChunkSource chunks, Optional<SnapshotSigner> verifier) {
        return decodeParameters(snapshot.getParameters().getEncoding(), readParameters(snapshot, chunks, verifier));
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
