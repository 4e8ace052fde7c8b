package io.rehearsal.streams.recall;

import io.rehearsal.streams.state.Keys;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The recall schedule of one shard (store {@code curator-schedule}): one entry per scheduled sample,
 * keyed {@code model | tier | due step | sample id}, value its class. Entries are found by a range scan
 * of due steps {@code <= now}, so a batch that comes late (or a skipped punctuation) misses nothing:
 * whatever became due meanwhile is still in the range, most overdue first.
 */
public final class RecallSchedule {
    /** The most due entries one scan reads per tier; beyond it the backlog is reported as this much. */
    public static final int SCAN_LIMIT = 4096;

    private final KeyValueStore<Bytes, byte[]> store;

    public RecallSchedule(KeyValueStore<Bytes, byte[]> store) {
        this.store = store;
    }

    public void put(String modelId, Tier tier, long due, String sampleId, int label) {
        store.put(Keys.schedule(modelId, tier.code(), due, sampleId), ByteBuffer.allocate(4).putInt(label).array());
    }

    public void delete(String modelId, Tier tier, long due, String sampleId) {
        store.delete(Keys.schedule(modelId, tier.code(), due, sampleId));
    }

    /**
     * The due entries of one tier.
     *
     * @param byClass due entries per class, most overdue first
     * @param count   how many were read (at most {@link #SCAN_LIMIT})
     */
    public record DueScan(Map<Integer, List<DueEntry>> byClass, int count) {
    }

    /** Scans the entries of {@code tier} due at or before {@code step}. */
    public DueScan due(String modelId, Tier tier, long step) {
        Map<Integer, List<DueEntry>> byClass = new TreeMap<>();
        int count = 0;
        Bytes from = Keys.dueBound(modelId, tier.code(), 0);
        Bytes to = Keys.dueBound(modelId, tier.code(), step + 1);
        try (KeyValueIterator<Bytes, byte[]> it = store.range(from, to)) {
            while (it.hasNext() && count < SCAN_LIMIT) {
                KeyValue<Bytes, byte[]> kv = it.next();
                long due = Keys.dueOf(kv.key, modelId);
                if (due > step) {
                    break;
                }
                int label = ByteBuffer.wrap(kv.value).getInt();
                byClass.computeIfAbsent(label, c -> new ArrayList<>())
                        .add(new DueEntry(Keys.scheduledSample(kv.key, modelId), label, due));
                count++;
            }
        }
        return new DueScan(byClass, count);
    }

    /** The entries of one tier due in {@code (after, until]}, soonest first. */
    public List<DueEntry> between(String modelId, Tier tier, long after, long until) {
        List<DueEntry> out = new ArrayList<>();
        Bytes from = Keys.dueBound(modelId, tier.code(), after + 1);
        Bytes to = Keys.dueBound(modelId, tier.code(), until + 1);
        try (KeyValueIterator<Bytes, byte[]> it = store.range(from, to)) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                long due = Keys.dueOf(kv.key, modelId);
                if (due > until) {
                    break;
                }
                out.add(new DueEntry(Keys.scheduledSample(kv.key, modelId), ByteBuffer.wrap(kv.value).getInt(), due));
            }
        }
        return out;
    }

    /** Every entry of one tier, soonest due first (for tests and diagnostics). */
    public List<DueEntry> all(String modelId, Tier tier) {
        List<DueEntry> out = new ArrayList<>();
        Bytes prefix = Keys.tierPrefix(modelId, tier.code());
        try (KeyValueIterator<Bytes, byte[]> it = store.range(prefix, Keys.prefixEnd(prefix))) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                if (kv.key.equals(Keys.prefixEnd(prefix))) {
                    break;
                }
                out.add(new DueEntry(Keys.scheduledSample(kv.key, modelId), ByteBuffer.wrap(kv.value).getInt(),
                        Keys.dueOf(kv.key, modelId)));
            }
        }
        return out;
    }
}
