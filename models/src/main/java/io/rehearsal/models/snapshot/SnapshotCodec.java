package io.rehearsal.models.snapshot;

import io.rehearsal.models.runtime.NamedTensor;
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
 *
 * <p>Since schema version 2 a snapshot may carry a second blob of the same kind, the trainer's optimizer
 * state ({@link #readOptimizerState}); only a resuming trainer reads it. Its chunks are keyed {@link
 * #optimizerChunkKey}.
 *
 * <p>Since schema version 4 a snapshot of a user's TorchScript network carries the module itself by reference
 * ({@link #readArchitecture}): encoding {@value #TORCHSCRIPT_ENCODING}, always in chunks keyed {@link
 * #architectureChunkKey}, written once by the first snapshot that needs it and referenced by every later one
 * (so its chunks may carry an earlier version than the snapshot); never tombstoned. Its SHA-256 is the spec's
 * option {@code sha256}, which the signature covers.
 */
public final class SnapshotCodec {
    /** The only format version this code writes and reads. */
    public static final int FORMAT_VERSION = 1;
    /** The encoding of an architecture blob: a TorchScript module file (a zip archive). */
    public static final String TORCHSCRIPT_ENCODING = "torchscript";

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

    /**
     * The key of a chunk of the optimizer state: {@code modelId/version/optimizer-index} (what precedes the
     * last {@code /} is still {@code modelId/version}).
     */
    public static String optimizerChunkKey(String modelId, long version, int index) {
        return modelId + "/" + version + "/optimizer-" + index;
    }

    /**
     * The key of a chunk of an architecture: {@code modelId/architecture/sha256/index}; one per architecture, not per
     * version, and never tombstoned (every snapshot of the model refers to it).
     */
    public static String architectureChunkKey(String modelId, String sha256, int index) {
        return modelId + "/architecture/" + sha256 + "/" + index;
    }

    /**
     * The chunk keys of what a snapshot references for itself alone: its parameter chunks, then its optimizer
     * state's (not its architecture's, which later snapshots share).
     */
    public static List<String> chunkKeys(ModelSnapshot snapshot) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < snapshot.getParameters().getChunks().size(); i++) {
            keys.add(chunkKey(snapshot.getModelId(), snapshot.getVersion(), i));
        }
        ParameterBlob state = snapshot.getOptimizerState();
        for (int i = 0; state != null && i < state.getChunks().size(); i++) {
            keys.add(optimizerChunkKey(snapshot.getModelId(), snapshot.getVersion(), i));
        }
        return keys;
    }

    /** The description of a blob: inline when {@code chunks} is empty, else referencing them. */
    public static ParameterBlob blob(byte[] data, List<ChunkRef> chunks) {
        return new ParameterBlob(NpzFormat.ENCODING, (long) data.length, sha256(data),
                chunks.isEmpty() ? ByteBuffer.wrap(data) : null, List.copyOf(chunks));
    }

    /** The description of an architecture blob (a TorchScript module) in {@code chunks}. */
    public static ParameterBlob architectureBlob(byte[] module, List<ChunkRef> chunks) {
        return new ParameterBlob(TORCHSCRIPT_ENCODING, (long) module.length, sha256(module), null, List.copyOf(chunks));
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
        return snapshot(modelId, version, parentVersion, step, created, spec, blob(blob, chunks), null, metrics,
                provenance, signer);
    }

    /**
     * The snapshot of the weights {@code parameters} and, unless null, the optimizer state ({@link #blob}
     * describes each); signed when a signer is given (the signature covers both blobs' hashes).
     */
    public static ModelSnapshot snapshot(String modelId, long version, Long parentVersion, long step, Instant created,
                                         ModelSpec spec, ParameterBlob parameters, ParameterBlob optimizerState,
                                         SnapshotMetrics metrics, Provenance provenance, Optional<SnapshotSigner> signer) {
        return snapshot(modelId, version, parentVersion, step, created, spec, parameters, optimizerState, null, metrics,
                provenance, signer);
    }

    /**
     * The snapshot of the weights, the optimizer state (or null) and, for a user's TorchScript network, the
     * architecture blob that references its module ({@link #architectureBlob}; null for the built-in networks).
     */
    public static ModelSnapshot snapshot(String modelId, long version, Long parentVersion, long step, Instant created,
                                         ModelSpec spec, ParameterBlob parameters, ParameterBlob optimizerState,
                                         ParameterBlob architecture, SnapshotMetrics metrics, Provenance provenance,
                                         Optional<SnapshotSigner> signer) {
        ModelSnapshot snapshot = new ModelSnapshot(modelId, version, parentVersion, step,
                Instant.ofEpochMilli(created.toEpochMilli()), FORMAT_VERSION, spec, parameters, null, metrics, provenance,
                optimizerState, architecture);
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
        return readBlob(snapshot, snapshot.getParameters(), Blob.PARAMETERS, chunks);
    }

    /**
     * The verified TorchScript module of a snapshot of a user's network (schema version 4): format and signature
     * checked as {@link #readParameters} does, the blob's SHA-256 the one the (signed) spec names, every chunk and
     * the whole checked; empty for a built-in network.
     *
     * @throws SnapshotFormatException if a torchscript spec has no architecture blob or another module's, or on any
     *                                 mismatch
     */
    public static Optional<byte[]> readArchitecture(ModelSnapshot snapshot, ChunkSource chunks,
                                                    Optional<SnapshotSigner> verifier) {
        checkFormat(snapshot);
        verifier.ifPresent(v -> v.verify(snapshot));
        ParameterBlob architecture = snapshot.getArchitecture();
        String named = snapshot.getSpec().getOptions().get("sha256");
        boolean torchscript = "torchscript".equals(snapshot.getSpec().getName());
        String what = "snapshot " + snapshot.getModelId() + " version " + snapshot.getVersion();
        if (!torchscript) {
            if (architecture != null) {
                throw new SnapshotFormatException(Reason.MALFORMED, what + " has a built-in network ("
                        + snapshot.getSpec().getName() + ") but carries an architecture blob; it is malformed");
            }
            return Optional.empty();
        }
        if (architecture == null) {
            throw new SnapshotFormatException(Reason.MALFORMED, what + " is a TorchScript network but carries no "
                    + "architecture blob; it is malformed");
        }
        if (!TORCHSCRIPT_ENCODING.equals(architecture.getEncoding())) {
            throw new SnapshotFormatException(Reason.UNKNOWN_FORMAT, what + ": architecture encoding '"
                    + architecture.getEncoding() + "' is unknown to this reader, which reads only '" + TORCHSCRIPT_ENCODING
                    + "'; upgrade the reader");
        }
        if (!architecture.getSha256().equals(named)) {
            throw new SnapshotFormatException(Reason.CHECKSUM, what + ": its architecture blob " + architecture.getSha256()
                    + " is not the module its spec names (" + named + "); refusing the snapshot");
        }
        return Optional.of(readBlob(snapshot, architecture, Blob.ARCHITECTURE, chunks));
    }

    /**
     * The verified optimizer state blob of a snapshot, checked as {@link #readParameters} checks the
     * weights; empty if the snapshot has none (an older trainer, or an optimizer without state).
     *
     * @throws SnapshotFormatException on any mismatch
     */
    public static Optional<byte[]> readOptimizerState(ModelSnapshot snapshot, ChunkSource chunks,
                                                      Optional<SnapshotSigner> verifier) {
        checkFormat(snapshot);
        verifier.ifPresent(v -> v.verify(snapshot));
        ParameterBlob state = snapshot.getOptimizerState();
        return state == null ? Optional.empty() : Optional.of(readBlob(snapshot, state, Blob.OPTIMIZER_STATE, chunks));
    }

    /** Decoded, verified optimizer state of a snapshot (see {@link #readOptimizerState}). */
    public static Optional<List<NamedTensor>> optimizerState(ModelSnapshot snapshot, ChunkSource chunks,
                                                             Optional<SnapshotSigner> verifier) {
        return readOptimizerState(snapshot, chunks, verifier)
                .map(blob -> decodeParameters(snapshot.getOptimizerState().getEncoding(), blob));
    }

    /** The blobs of a snapshot, as messages name them. */
    private enum Blob {
        PARAMETERS("parameters", ""), OPTIMIZER_STATE("optimizer state", "the optimizer state of "),
        ARCHITECTURE("architecture", "the architecture of ");

        final String noun;
        final String of;

        Blob(String noun, String of) {
            this.noun = noun;
            this.of = of;
        }
    }

    private static byte[] readBlob(ModelSnapshot snapshot, ParameterBlob p, Blob kind, ChunkSource chunks) {
        String what = "snapshot " + snapshot.getModelId() + " version " + snapshot.getVersion();
        byte[] blob;
        if (p.getInline() != null) {
            blob = bytes(p.getInline());
        } else {
            if (p.getChunks().isEmpty()) {
                throw new SnapshotFormatException(Reason.MALFORMED, what + " has neither inline " + kind.noun + " nor chunks; it is malformed");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            List<ChunkRef> refs = p.getChunks();
            for (int i = 0; i < refs.size(); i++) {
                ChunkRef ref = refs.get(i);
                SnapshotChunk chunk = chunks.read(ref);
                String where = String.format("chunk %d of %s%s (%s-%d@%d)", i, kind.of,
                        what, ref.getTopic(), ref.getPartition(), ref.getOffset());
                if (chunk == null) {
                    throw new SnapshotFormatException(Reason.MISSING_CHUNK, where + " is missing; it was deleted or never committed");
                }
                // an architecture's chunks were written once, by the first snapshot that needed them
                boolean versionFits = kind == Blob.ARCHITECTURE ? chunk.getVersion() <= snapshot.getVersion()
                        : chunk.getVersion() == snapshot.getVersion();
                if (!chunk.getModelId().equals(snapshot.getModelId()) || !versionFits
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
            throw new SnapshotFormatException(Reason.CHECKSUM, what + ": the " + kind.noun + " blob does not match the snapshot's SHA-256 or size; "
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
