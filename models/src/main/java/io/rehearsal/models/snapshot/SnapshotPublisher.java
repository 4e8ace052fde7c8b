package io.rehearsal.models.snapshot;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes snapshots of one model with a transactional producer: each snapshot, its chunks, any dead
 * letters and the consumer offsets of the batches it covers are committed in ONE transaction, so a
 * reader (read_committed) sees either all of them or none.
 *
 * <p>One transaction: begin; write the chunks to the chunk topic (parameters over the inline limit,
 * then the optimizer state when the two together are over it) and wait for their offsets; write the
 * snapshot, which references them, to the model-updates topic; write dead letters; tombstone the chunks
 * (of both blobs) of the snapshot two versions back (compaction then removes them; one previous version
 * stays readable); add the offsets with {@code sendOffsetsToTransaction}; commit.
 *
 * <p>A user's TorchScript network travels once: the first snapshot that needs it writes the module's chunks
 * (keyed {@link SnapshotCodec#architectureChunkKey}) in its transaction; every later one references the same
 * chunks, and they are never tombstoned. A publisher knows the architectures it wrote and those of the
 * snapshots it was told to {@link #remember} (the one a trainer resumed from).
 *
 * <p>The producer's {@code transactional.id} is stable per model: {@link #init} fences any earlier
 * producer with the same id (and aborts its open transaction). When this producer is the one fenced,
 * {@link #publish} throws {@link TrainerFencedException}; on any other failure it aborts and throws
 * {@link SnapshotPublishException}. Failures are never only logged.
 */
public final class SnapshotPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotPublisher.class);

    private final String modelId;
    private final String transactionalId;
    private final Topics topics;
    private final Producer<byte[], byte[]> producer;
    private final int maxInlineBytes;
    private final int chunkBytes;
    private final Optional<SnapshotSigner> signer;
    private final PublishHook hook;
    /** Chunk keys of recent versions, oldest first, so they can be tombstoned two versions later. */
    private final Deque<Map.Entry<Long, List<String>>> chunkKeys = new ArrayDeque<>();
    /** Architecture blobs already on the chunk topic, by SHA-256: referenced again, never written twice. */
    private final Map<String, io.rehearsal.schemas.avro.ParameterBlob> architectures = new HashMap<>();
    private boolean fenced;

    /**
     * @param producer a transactional producer (see {@link #producerConfig}); the publisher owns and closes it
     */
    public SnapshotPublisher(String modelId, String transactionalId, Topics topics, Producer<byte[], byte[]> producer,
                             int maxInlineBytes, int chunkBytes, Optional<SnapshotSigner> signer, PublishHook hook) {
        this.modelId = modelId;
        this.transactionalId = transactionalId;
        this.topics = topics;
        this.producer = producer;
        this.maxInlineBytes = maxInlineBytes;
        this.chunkBytes = chunkBytes;
        this.signer = signer;
        this.hook = hook;
    }

    /** Producer settings for a model's transactional producer; {@code extra} (TLS, SASL...) wins. */
    public static Map<String, Object> producerConfig(String bootstrapServers, String transactionalId, int maxInlineBytes,
                                                     int chunkBytes, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
        // a snapshot record holds an inline blob of up to maxInlineBytes plus metrics and provenance
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, Math.max(maxInlineBytes, chunkBytes) + (256 << 10)));
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.putAll(extra);
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return config;
    }

    /** A publisher with a new {@link KafkaProducer}. */
    public static SnapshotPublisher create(String modelId, String transactionalId, Topics topics, String bootstrapServers,
                                           int maxInlineBytes, int chunkBytes, Map<String, Object> extra,
                                           Optional<SnapshotSigner> signer, PublishHook hook) {
        Producer<byte[], byte[]> producer = new KafkaProducer<>(
                producerConfig(bootstrapServers, transactionalId, maxInlineBytes, chunkBytes, extra));
        return new SnapshotPublisher(modelId, transactionalId, topics, producer, maxInlineBytes, chunkBytes, signer, hook);
    }

    /** Registers the transactional id, fencing any earlier trainer of this model and aborting its open transaction. */
    public void init() {
        try {
            producer.initTransactions();
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            fenced = true;
            throw new TrainerFencedException(modelId, transactionalId, e);
        }
    }

    /**
     * Remembers the chunks (parameters' and optimizer state's) of an already published snapshot (e.g. the
     * one loaded on start) for later clean-up.
     */
    public void remember(ModelSnapshot snapshot) {
        chunkKeys.addLast(Map.entry(snapshot.getVersion(), SnapshotCodec.chunkKeys(snapshot)));
        if (snapshot.getArchitecture() != null && !snapshot.getArchitecture().getChunks().isEmpty()) {
            architectures.put(snapshot.getArchitecture().getSha256(), snapshot.getArchitecture());
        }
    }

    /**
     * What to publish, apart from where its chunks end up.
     *
     * @param blob           the parameters ({@link SnapshotCodec#encodeParameters})
     * @param optimizerState the optimizer state, encoded the same way; null for none
     * @param architecture   the TorchScript module of a user's network (written once, then referenced); null for
     *                       the built-in networks
     */
    public record Content(long version, Long parentVersion, long step, Instant created, ModelSpec spec, byte[] blob,
                          byte[] optimizerState, byte[] architecture, SnapshotMetrics metrics, Provenance provenance) {
        /** Content of a built-in network (no architecture blob). */
        public Content(long version, Long parentVersion, long step, Instant created, ModelSpec spec, byte[] blob,
                       byte[] optimizerState, SnapshotMetrics metrics, Provenance provenance) {
            this(version, parentVersion, step, created, spec, blob, optimizerState, null, metrics, provenance);
        }
    }

    /**
     * Publishes one snapshot with the consumer offsets it covers, atomically.
     *
     * @param offsets     next offsets to read of the batch partitions this snapshot covers
     * @param group       the batch consumer's group metadata
     * @param deadLetters records for the dead-letter topic, committed with the snapshot
     * @return the snapshot as written
     * @throws TrainerFencedException   if another trainer of this model took over
     * @throws SnapshotPublishException on any other failure (the transaction is aborted)
     */
    public ModelSnapshot publish(Content content, Map<TopicPartition, OffsetAndMetadata> offsets,
                                 ConsumerGroupMetadata group, List<ProducerRecord<byte[], byte[]>> deadLetters) {
        if (fenced) {
            throw new IllegalStateException("the publisher of model " + modelId + " was fenced; create a new trainer");
        }
        boolean began = false;
        try {
            producer.beginTransaction();
            began = true;
            // the snapshot record stays within maxInlineBytes of blobs: the parameters inline if they fit,
            // the optimizer state inline if it fits beside them
            byte[] state = content.optimizerState();
            boolean paramsInline = content.blob().length <= maxInlineBytes;
            boolean stateInline = state != null
                    && (paramsInline ? content.blob().length : 0) + (long) state.length <= maxInlineBytes;
            List<String> keys = new ArrayList<>();
            SentChunks paramsSent = paramsInline ? SentChunks.NONE : sendChunks(content.version(), content.blob(), false, keys);
            SentChunks stateSent = state == null || stateInline ? SentChunks.NONE : sendChunks(content.version(), state, true, keys);
            String architectureSha = content.architecture() == null ? null : SnapshotCodec.sha256(content.architecture());
            io.rehearsal.schemas.avro.ParameterBlob architecture = architectureSha == null ? null
                    : architectures.get(architectureSha);
            SentChunks architectureSent = architectureSha == null || architecture != null ? SentChunks.NONE
                    : sendArchitecture(content.version(), content.architecture(), architectureSha);
            if (!keys.isEmpty() || architectureSent != SentChunks.NONE) {
                producer.flush();
            }
            if (architectureSent != SentChunks.NONE) {
                architecture = SnapshotCodec.architectureBlob(content.architecture(), architectureSent.references());
            }
            List<ChunkRef> paramRefs = paramsSent.references();
            List<ChunkRef> stateRefs = stateSent.references();
            hook.at(PublishHook.Stage.CHUNKS_SENT);
            ModelSnapshot snapshot = SnapshotCodec.snapshot(modelId, content.version(), content.parentVersion(),
                    content.step(), content.created(), content.spec(), SnapshotCodec.blob(content.blob(), paramRefs),
                    state == null ? null : SnapshotCodec.blob(state, stateRefs), architecture, content.metrics(),
                    content.provenance(), signer);
            producer.send(new ProducerRecord<>(topics.modelUpdates().name(), topics.modelUpdates().serializeKey(modelId),
                    topics.modelUpdates().serializeValue(snapshot)));
            deadLetters.forEach(producer::send);
            for (Map.Entry<Long, List<String>> old : chunkKeys) {
                if (old.getKey() <= content.version() - 2) {
                    for (String key : old.getValue()) {
                        producer.send(new ProducerRecord<>(topics.modelChunks().name(),
                                topics.modelChunks().serializeKey(key), null));
                    }
                }
            }
            hook.at(PublishHook.Stage.SNAPSHOT_SENT);
            if (!offsets.isEmpty()) {
                producer.sendOffsetsToTransaction(offsets, group);
            }
            hook.at(PublishHook.Stage.OFFSETS_SENT);
            producer.commitTransaction();
            chunkKeys.removeIf(old -> old.getKey() <= content.version() - 2);
            chunkKeys.addLast(Map.entry(content.version(), keys));
            if (architecture != null) {
                architectures.put(architectureSha, architecture); // on the topic now: referenced from here on
            }
            hook.at(PublishHook.Stage.COMMITTED);
            return snapshot;
        } catch (ExecutionException e) {
            throw failed(e.getCause() == null ? e : e.getCause(), began, content);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(e, began, content);
        } catch (KafkaException e) {
            throw failed(e, began, content);
        }
    }

    /** Sends a blob's chunks, adding their keys to {@code keys}. */
    private SentChunks sendChunks(long version, byte[] blob, boolean optimizer, List<String> keys) {
        List<SnapshotChunk> chunks = SnapshotCodec.split(modelId, version, blob, chunkBytes);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (SnapshotChunk chunk : chunks) {
            String key = optimizer ? SnapshotCodec.optimizerChunkKey(modelId, version, chunk.getIndex())
                    : SnapshotCodec.chunkKey(modelId, version, chunk.getIndex());
            keys.add(key);
            sent.add(producer.send(new ProducerRecord<>(topics.modelChunks().name(),
                    topics.modelChunks().serializeKey(key), topics.modelChunks().serializeValue(chunk))));
        }
        return new SentChunks(chunks, sent);
    }

    /** Sends an architecture's chunks under keys of their own, which no later snapshot tombstones. */
    private SentChunks sendArchitecture(long version, byte[] module, String sha) {
        List<SnapshotChunk> chunks = SnapshotCodec.split(modelId, version, module, chunkBytes);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (SnapshotChunk chunk : chunks) {
            String key = SnapshotCodec.architectureChunkKey(modelId, sha, chunk.getIndex());
            sent.add(producer.send(new ProducerRecord<>(topics.modelChunks().name(),
                    topics.modelChunks().serializeKey(key), topics.modelChunks().serializeValue(chunk))));
        }
        return new SentChunks(chunks, sent);
    }

    /** Chunks of one blob in flight; none when the blob goes inline. */
    private record SentChunks(List<SnapshotChunk> chunks, List<Future<RecordMetadata>> futures) {
        static final SentChunks NONE = new SentChunks(List.of(), List.of());

        /** Where each chunk was written (wait for the flush first). */
        List<ChunkRef> references() throws ExecutionException, InterruptedException {
            List<ChunkRef> refs = new ArrayList<>();
            for (int i = 0; i < chunks.size(); i++) {
                RecordMetadata m = futures.get(i).get();
                refs.add(SnapshotCodec.reference(m.topic(), m.partition(), m.offset(), chunks.get(i)));
            }
            return refs;
        }
    }

    private RuntimeException failed(Throwable cause, boolean began, Content content) {
        if (isFencing(cause)) {
            fenced = true;
            return new TrainerFencedException(modelId, transactionalId, cause);
        }
        if (began) {
            try {
                producer.abortTransaction();
            } catch (KafkaException abort) {
                cause.addSuppressed(abort);
                if (isFencing(abort)) {
                    fenced = true;
                    return new TrainerFencedException(modelId, transactionalId, cause);
                }
            }
        }
        return new SnapshotPublishException(String.format("could not publish snapshot version %d of model %s (%d "
                + "parameter bytes): %s. The transaction was aborted; the batches since the previous snapshot will be "
                + "trained again after a restart", content.version(), modelId, content.blob().length, cause), cause);
    }

    private static boolean isFencing(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ProducerFencedException || c instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        try {
            producer.close(fenced ? Duration.ZERO : Duration.ofSeconds(30));
        } catch (KafkaException e) {
            LOG.warn("closing the snapshot producer of model {} failed: {}", modelId, e.toString());
        }
    }
}
