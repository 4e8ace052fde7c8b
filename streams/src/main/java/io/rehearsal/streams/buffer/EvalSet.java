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

    /** Offers an EVAL sample; returns whether it was kept. */
    public boolean offer(SampleEntry e, ModelState ms) {
        int cls = e.label();
        long seen = ms.evalSeen(cls);
        int occupancy = ms.evalOccupancy(cls);
        int slot = Reservoir.slotFor(seen, capacityPerClass, occupancy, Seeds.hash(seed, "eval", ms.modelId, cls, seen));
        if (slot == Reservoir.REJECT) {
            return false;
        }
        byte[] id = e.id().getBytes(StandardCharsets.UTF_8);
        byte[] entry = e.encode();
        byte[] features = e.encodeFeatures();
        store.put(Keys.slot(ms.modelId, cls, slot), ByteBuffer.allocate(8 + id.length + entry.length + features.length)
                .putInt(id.length).put(id).putInt(entry.length).put(entry).put(features).array());
        if (slot == occupancy) {
            ms.evalHeld(cls, occupancy + 1);
        }
        return true;
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
                byte[] features = new byte[v.remaining()];
                v.get(features);
                out.add(SampleEntry.decode(new String(id, StandardCharsets.UTF_8), entry).withFeatures(features));
            }
        }
        return out;
    }
}
