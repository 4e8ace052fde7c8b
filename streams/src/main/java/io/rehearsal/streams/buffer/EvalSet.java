package io.rehearsal.streams.buffer;

import io.rehearsal.streams.random.Seeds;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The held-out samples of one shard (store {@code curator-eval-set}, key model | class | slot): a
 * reservoir of at most {@code capacityPerClass} EVAL samples per class, never trained on, emitted
 * periodically as EVAL batches so the trainer can measure accuracy per class and task.
 */
public final class EvalSet {
    private final KeyValueStore<Bytes, byte[]> store;
    private final int capacityPerClass;
    private final long seed;

    public EvalSet(KeyValueStore<Bytes, byte[]> store, int capacityPerClass, long seed) {
        this.store = store;
        this.capacityPerClass = capacityPerClass;
        this.seed = seed;
    }

    /** What an offer did: whether the sample was kept, and the id of the one it replaced, if any. */
    public record Offer(boolean kept, String replaced) {
    }

    /** Offers an EVAL sample (reservoir sampling within its class). */
    public Offer offer(SampleEntry e, ModelState ms) {
        int cls = e.label();
        long seen = ms.evalSeen(cls);
        int occupancy = ms.evalOccupancy(cls);
        int slot = Reservoir.slotFor(seen, capacityPerClass, occupancy, Seeds.hash(seed, "eval", ms.modelId, cls, seen));
        if (slot == Reservoir.REJECT) {
            return new Offer(false, null);
        }
        Bytes key = Keys.slot(ms.modelId, cls, slot);
        String replaced = slot < occupancy ? idOf(store.get(key)) : null;
        byte[] id = e.id().getBytes(StandardCharsets.UTF_8);
        byte[] entry = e.encode();
        // no features: EVAL items name their samples too (the features topic holds them)
        store.put(key, ByteBuffer.allocate(8 + id.length + entry.length).putInt(id.length).put(id).putInt(entry.length)
                .put(entry).array());
        if (slot == occupancy) {
            ms.evalHeld(cls, occupancy + 1);
        }
        return new Offer(true, replaced);
    }

    private static String idOf(byte[] value) {
        ByteBuffer v = ByteBuffer.wrap(value);
        byte[] id = new byte[v.getInt()];
        v.get(id);
        return new String(id, StandardCharsets.UTF_8);
    }

    /** Every held-out sample of a model, by class then slot. */
    public List<SampleEntry> all(String modelId) {
        List<SampleEntry> out = new ArrayList<>();
        Bytes prefix = Keys.model(modelId);
        try (KeyValueIterator<Bytes, byte[]> it = store.range(prefix, Keys.prefixEnd(prefix))) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                ByteBuffer v = ByteBuffer.wrap(kv.value);
                byte[] id = new byte[v.getInt()];
                v.get(id);
                byte[] entry = new byte[v.getInt()];
                v.get(entry);
                // entries written before version 0.2 carry their features after the entry: not needed any more
                out.add(SampleEntry.decode(new String(id, StandardCharsets.UTF_8), entry));
            }
        }
        return out;
    }
}
