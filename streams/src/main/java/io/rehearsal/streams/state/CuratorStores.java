package io.rehearsal.streams.state;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.ProcessingContext;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The curator's state stores, one set per shard (task). Every store maps binary keys ({@link Keys}) to
 * binary values, is persistent (RocksDB) and backed by a changelog topic, so a restarted or moved
 * shard restores exactly the buffer and schedule it had.
 *
 * <table>
 *   <caption>store layout</caption>
 *   <tr><th>store</th><th>key</th><th>value</th></tr>
 *   <tr><td>{@value #STATE}</td><td>{@code m:<model>} / {@code shard}</td><td>{@link ModelState} / {@link ShardState}</td></tr>
 *   <tr><td>{@value #SAMPLES}</td><td>sample id</td><td>{@code SampleEntry} (about 100 bytes)</td></tr>
 *   <tr><td>{@value #LONG_TERM}</td><td>model | class | slot</td><td>sample id (dense slots 0..n-1 per class)</td></tr>
 *   <tr><td>{@value #EVAL}</td><td>model | class | slot</td><td>held-out sample ({@code SampleEntry})</td></tr>
 *   <tr><td>{@value #PENDING}</td><td>sample id</td><td>{@code PendingRecord}: feedback waiting for its sample</td></tr>
 *   <tr><td>{@value #REJECTED}</td><td>sample id</td><td>expiry time: samples kept out by REJECT</td></tr>
 *   <tr><td>{@value #EXPIRY}</td><td>expire time | kind | sample id</td><td>empty: what to expire, by stream time</td></tr>
 * </table>
 *
 * <p>The fresh queue, the short-term arrival order and the recall schedule are not stores: every
 * {@code SampleEntry} records its place in them, so {@code SampleMemory} keeps them as in-memory
 * indexes of {@value #SAMPLES}, rebuilt when a shard starts, beside a decoded copy of the entries
 * themselves ({@code SampleEntries}).
 */
public record CuratorStores(
        KeyValueStore<Bytes, byte[]> state,
        KeyValueStore<Bytes, byte[]> samples,
        KeyValueStore<Bytes, byte[]> longTerm,
        KeyValueStore<Bytes, byte[]> eval,
        KeyValueStore<Bytes, byte[]> pending,
        KeyValueStore<Bytes, byte[]> rejected,
        KeyValueStore<Bytes, byte[]> expiry) {

    public static final String STATE = "curator-state";
    public static final String SAMPLES = "curator-samples";
    public static final String LONG_TERM = "curator-long-term";
    public static final String EVAL = "curator-eval-set";
    public static final String PENDING = "curator-pending-feedback";
    public static final String REJECTED = "curator-rejected";
    public static final String EXPIRY = "curator-expiry";

    /** Every store name, in a fixed order. */
    public static final List<String> NAMES =
            List.of(STATE, SAMPLES, LONG_TERM, EVAL, PENDING, REJECTED, EXPIRY);

    /** Looks the stores up; call from {@code Processor.init}. */
    public static CuratorStores from(ProcessingContext context) {
        return new CuratorStores(context.getStateStore(STATE), context.getStateStore(SAMPLES),
                context.getStateStore(LONG_TERM), context.getStateStore(EVAL),
                context.getStateStore(PENDING),
                context.getStateStore(REJECTED), context.getStateStore(EXPIRY));
    }

    /**
     * Builders of every store: RocksDB (or in-memory, same behaviour, for short-lived in-process runs),
     * logged to a changelog topic, and cached (so the many rewrites of a key within one commit interval,
     * such as the model state at every sample, reach the changelog once), except the sample entries: those
     * are read from {@code SampleEntries}' decoded copy, and an entry is rarely written twice in one commit
     * interval, so Streams' cache only added its sorted-map upkeep. Features are in no store: the curator
     * writes them once to the features topic and never reads them back.
     */
    public static List<StoreBuilder<KeyValueStore<Bytes, byte[]>>> builders(boolean persistent) {
        return builders(persistent, 1 << 20);
    }

    /**
     * As {@link #builders(boolean)}, with changelog topics that take records of {@code maxRecordBytes}: feedback
     * waiting for its sample keeps its original record (up to the feedback topic's 1 MiB) with its origin, one
     * record over Kafka's default limit.
     */
    public static List<StoreBuilder<KeyValueStore<Bytes, byte[]>>> builders(boolean persistent, int maxRecordBytes) {
        Map<String, String> changelog = Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxRecordBytes));
        return NAMES.stream().map(name -> {
            KeyValueBytesStoreSupplier supplier = persistent
                    ? Stores.persistentKeyValueStore(name) : Stores.inMemoryKeyValueStore(name);
            StoreBuilder<KeyValueStore<Bytes, byte[]>> builder =
                    Stores.keyValueStoreBuilder(supplier, Serdes.Bytes(), Serdes.ByteArray()).withLoggingEnabled(changelog);
            return name.equals(SAMPLES) ? builder.withCachingDisabled() : builder.withCachingEnabled();
        }).toList();
    }
}
