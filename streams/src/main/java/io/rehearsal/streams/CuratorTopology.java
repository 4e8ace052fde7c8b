package io.rehearsal.streams;

import io.rehearsal.schemas.Topics;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.state.CuratorStores;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.StoreBuilder;

/**
 * The curator's topology as a plain function of its settings, so the application, the tests and
 * {@link InProcessCurator} all run the same thing:
 *
 * <pre>
 *   samples-source  --\                       /--&gt; train-batches-sink (TrainBatch, key model id)
 *   feedback-source ---&gt;-- curator (stores) --&gt;--&gt; dead-letters-sink  (DeadLetter, key original key)
 *   reroute-source  --/                       +--&gt; reroute-sink       (original bytes, key sample id)
 *                                             \--&gt; features-sink      (SampleFeatures or tombstone, key sample id)
 * </pre>
 *
 * All sources read raw bytes; the {@code curator} processor decodes them, so a bad record becomes a
 * dead letter in the same transaction as everything else. A sample or feedback record read on a
 * partition other than its sample id's goes round through the reroute topic ({@link Reroute}). The
 * processor's supplier owns the stores listed in {@link CuratorStores}.
 */
public final class CuratorTopology {
    public static final String SAMPLES_SOURCE = "samples-source";
    public static final String FEEDBACK_SOURCE = "feedback-source";
    public static final String REROUTE_SOURCE = "reroute-source";
    public static final String REROUTE_SINK = "reroute-sink";
    public static final String FEATURES_SINK = "features-sink";
    public static final String CURATOR = "curator";
    public static final String BATCHES_SINK = "train-batches-sink";
    public static final String DEAD_LETTERS_SINK = "dead-letters-sink";

    private CuratorTopology() {
    }

    /** The topology with RocksDB stores and meters nobody reads. */
    public static Topology build(CuratorSettings settings, Topics topics) {
        return build(settings, topics, CuratorMetrics.discarding(), true);
    }

    /** The topology with RocksDB stores, reporting to {@code metrics}. */
    public static Topology build(CuratorSettings settings, Topics topics, CuratorMetrics metrics) {
        return build(settings, topics, metrics, true);
    }

    /**
     * The topology.
     *
     * @param persistent RocksDB stores (true, production) or in-memory stores (same logic and output;
     *                   for short-lived in-process runs); both are logged to changelog topics
     */
    public static Topology build(CuratorSettings settings, Topics topics, CuratorMetrics metrics, boolean persistent) {
        Topology topology = new Topology();
        topology.addSource(SAMPLES_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.samples().name());
        topology.addSource(FEEDBACK_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.feedback().name());
        topology.addSource(REROUTE_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.reroute().name());
        topology.addProcessor(CURATOR, new Supplier(settings, topics, metrics, persistent), SAMPLES_SOURCE, FEEDBACK_SOURCE,
                REROUTE_SOURCE);
        topology.addSink(BATCHES_SINK, topics.trainBatches().name(), topics.trainBatches().keySerde().serializer(),
                topics.trainBatches().valueSerde().serializer(), CURATOR);
        topology.addSink(DEAD_LETTERS_SINK, topics.deadLetters().name(), new ByteArraySerializer(),
                topics.deadLetters().valueSerde().serializer(), CURATOR);
        topology.addSink(REROUTE_SINK, topics.reroute().name(), new ByteArraySerializer(), new ByteArraySerializer(),
                Reroute.partitioner(), CURATOR);
        // keyed by sample id, partitioned as the Java client does: a sample's features on its own shard's partition
        topology.addSink(FEATURES_SINK, topics.features().name(), topics.features().keySerde().serializer(),
                topics.features().valueSerde().serializer(), CURATOR);
        return topology;
    }

    /**
     * The largest record the curator writes to a topic of its own (batches, changelogs): the batch topic's
     * limit. Batches and stored features are kept under it ({@link BatchAssembler}).
     */
    static int maxRecordBytes(Topics topics) {
        return topics.trainBatches().maxMessageBytes();
    }

    /** Creates one processor per shard and owns the stores. */
    private record Supplier(CuratorSettings settings, Topics topics, CuratorMetrics metrics, boolean persistent)
            implements ProcessorSupplier<byte[], byte[], Object, Object> {
        @Override
        public Processor<byte[], byte[], Object, Object> get() {
            return new CuratorProcessor(settings, topics, metrics);
        }

        @Override
        public Set<StoreBuilder<?>> stores() {
            return new HashSet<>(CuratorStores.builders(persistent, maxRecordBytes(topics)));
        }
    }
}
