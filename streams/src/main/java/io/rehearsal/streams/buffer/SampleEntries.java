package io.rehearsal.streams.buffer;

import io.rehearsal.streams.state.Keys;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The {@value CuratorStores#SAMPLES} store with its entries also held decoded in memory: every write
 * goes to the store (and its changelog) and to the copy, every read comes from the copy. The store stays
 * the truth: the copy is loaded from it when a shard starts, so a restored or moved shard reads what was
 * committed.
 *
 * <p>Every recall reads an entry two or three times (to compose the batch, to visit it, to pick early
 * recalls), and a read through Streams' cache and RocksDB, then decoding, was a third of the stream
 * thread's time. An entry without its features is about 250 bytes of heap, so 100,000 buffered samples
 * cost about 25 MB; the features stay in their own store.
 *
 * <p>{@link #get} returns a copy: callers change entries and write them back, as they would a decoded one,
 * and a change that is not written back never reaches the store or this copy.
 */
public final class SampleEntries {
    private final KeyValueStore<Bytes, byte[]> store;
    private final Map<String, SampleEntry> entries = new HashMap<>();
    /** One instance of each model id, task name and shape, shared by the entries that have it. */
    private final Map<Object, Object> canonical = new HashMap<>();

    /** Loads every entry of {@code store}, handing each (a copy) to {@code visitor} as it goes. */
    public SampleEntries(KeyValueStore<Bytes, byte[]> store, Consumer<SampleEntry> visitor) {
        this.store = store;
        try (KeyValueIterator<Bytes, byte[]> it = store.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                SampleEntry e = SampleEntry.decode(Keys.sampleId(kv.key), kv.value);
                remember(e);
                visitor.accept(e.copy());
            }
        }
    }

    /** The entry of {@code sampleId} (its own copy, without features), or null. */
    public SampleEntry get(String sampleId) {
        SampleEntry e = entries.get(sampleId);
        return e == null ? null : e.copy();
    }

    /** Writes {@code e} (not its features) to the store and the copy. */
    public void put(SampleEntry e) {
        store.put(Keys.sample(e.id()), e.encode());
        remember(e.copy());
    }

    public void delete(String sampleId) {
        store.delete(Keys.sample(sampleId));
        entries.remove(sampleId);
    }

    public int size() {
        return entries.size();
    }

    private void remember(SampleEntry e) {
        e.compact(this::canonical);
        entries.put(e.id(), e);
    }

    @SuppressWarnings("unchecked")
    private <T> T canonical(T value) {
        if (value == null) {
            return null;
        }
        if (canonical.size() > 10_000 && !canonical.containsKey(value)) {
            return value; // many distinct tasks: stop collecting them
        }
        return (T) canonical.computeIfAbsent(value, v -> v);
    }
}
