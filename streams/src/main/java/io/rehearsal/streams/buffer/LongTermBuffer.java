package io.rehearsal.streams.buffer;

import io.rehearsal.streams.random.Seeds;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The class-balanced long-term buffer of one shard: per model, per class, dense slots
 * {@code 0 .. n-1} (store {@code curator-long-term}, key model | class | slot, value sample id).
 *
 * <ul>
 *   <li>Each class seen gets a {@link ClassQuota}; when a new class appears every quota shrinks and
 *       classes over their new quota are trimmed at once.</li>
 *   <li>Within a class, offers are kept by {@link Reservoir} sampling; the slot it picks is the first
 *       victim tried.</li>
 *   <li>Victims are chosen so that a sample whose correction is pending is never evicted, and a
 *       CONFIRMed sample (priority &gt; 0) only when the class holds nothing else: probing starts at
 *       the drawn slot and takes the first unconfirmed, unprotected occupant, else the one with the
 *       lowest priority. If every occupant is protected, the offer is refused (trim stops).</li>
 * </ul>
 *
 * Evicted entries are returned to the caller, who settles their schedule and writes them back.
 */
public final class LongTermBuffer {
    private final KeyValueStore<Bytes, byte[]> slots;
    private final SampleEntries samples;
    private final int capacity;
    private final long seed;

    public LongTermBuffer(KeyValueStore<Bytes, byte[]> slots, SampleEntries samples, int capacity, long seed) {
        this.slots = slots;
        this.samples = samples;
        this.capacity = capacity;
        this.seed = seed;
    }

    /** The outcome of an offer: whether the sample was kept, and the entries evicted to make room. */
    public record Admission(boolean admitted, List<SampleEntry> evicted) {
    }

    /**
     * Offers a labeled sample leaving the short-term tier (reservoir sampling within its class). On
     * success {@code e} is marked as a member; the caller writes it.
     */
    public Admission offer(SampleEntry e, ModelState ms) {
        List<SampleEntry> evicted = new ArrayList<>();
        int cls = e.label();
        e.offeredToLongTerm();
        if (capacity == 0) {
            return new Admission(false, evicted);
        }
        addClass(ms, cls, evicted);
        long seen = ms.offered(cls);
        int quota = ClassQuota.of(capacity, ms.offeredClasses(), cls);
        int occupancy = ms.occupancy(cls);
        int slot = Reservoir.slotFor(seen, quota, occupancy, Seeds.hash(seed, "reservoir", ms.modelId, cls, seen));
        if (slot == Reservoir.REJECT) {
            return new Admission(false, evicted);
        }
        if (slot == occupancy) {
            append(e, ms, cls);
            return new Admission(true, evicted);
        }
        int victim = victimSlot(ms.modelId, cls, occupancy, slot);
        if (victim < 0) {
            return new Admission(false, evicted);
        }
        evicted.add(replace(e, ms.modelId, cls, victim));
        return new Admission(true, evicted);
    }

    /** Removes a member (REJECT, relabel or eviction), keeping the class's slots dense. */
    public void remove(SampleEntry e, ModelState ms) {
        if (!e.inLongTerm()) {
            return;
        }
        int cls = e.slotClass();
        int last = ms.occupancy(cls) - 1;
        if (e.slot() != last) {
            Bytes lastKey = Keys.slot(ms.modelId, cls, last);
            String movedId = new String(slots.get(lastKey), StandardCharsets.UTF_8);
            SampleEntry moved = samples.get(movedId);
            moved.movedTo(e.slot());
            slots.put(Keys.slot(ms.modelId, cls, e.slot()), movedId.getBytes(StandardCharsets.UTF_8));
            samples.put(moved);
        }
        slots.delete(Keys.slot(ms.modelId, cls, last));
        ms.occupy(cls, last);
        e.leftLongTerm();
    }

    /** Evicts members of every class over its quota (after a new class appeared). */
    public List<SampleEntry> trim(ModelState ms) {
        List<SampleEntry> evicted = new ArrayList<>();
        for (int cls : ms.occupiedClasses()) {
            int quota = ClassQuota.of(capacity, ms.offeredClasses(), cls);
            while (ms.occupancy(cls) > quota) {
                int occupancy = ms.occupancy(cls);
                int start = (int) Seeds.below(occupancy, seed, "trim", ms.modelId, cls, ms.offers(cls), occupancy);
                int victim = victimSlot(ms.modelId, cls, occupancy, start);
                if (victim < 0) {
                    break;
                }
                SampleEntry v = load(ms.modelId, cls, victim);
                remove(v, ms);
                evicted.add(v);
            }
        }
        return evicted;
    }

    /** The sample ids of one class, slot order. */
    public List<String> members(String modelId, int cls, int occupancy) {
        List<String> ids = new ArrayList<>(occupancy);
        for (int s = 0; s < occupancy; s++) {
            ids.add(new String(slots.get(Keys.slot(modelId, cls, s)), StandardCharsets.UTF_8));
        }
        return ids;
    }

    private void addClass(ModelState ms, int cls, List<SampleEntry> evicted) {
        if (!ms.hasOffers(cls)) {
            ms.classAdded(cls);
            evicted.addAll(trim(ms));
        }
    }

    private void append(SampleEntry e, ModelState ms, int cls) {
        int slot = ms.occupancy(cls);
        slots.put(Keys.slot(ms.modelId, cls, slot), e.id().getBytes(StandardCharsets.UTF_8));
        ms.occupy(cls, slot + 1);
        e.placed(cls, slot);
    }

    private SampleEntry replace(SampleEntry e, String modelId, int cls, int slot) {
        SampleEntry victim = load(modelId, cls, slot);
        victim.leftLongTerm();
        slots.put(Keys.slot(modelId, cls, slot), e.id().getBytes(StandardCharsets.UTF_8));
        e.placed(cls, slot);
        return victim;
    }

    private SampleEntry load(String modelId, int cls, int slot) {
        String id = new String(slots.get(Keys.slot(modelId, cls, slot)), StandardCharsets.UTF_8);
        return samples.get(id);
    }

    /**
     * The slot to evict, probing from {@code start}: the first occupant neither pending correction nor
     * confirmed, else the lowest-priority one not pending correction; -1 if all are pending.
     */
    private int victimSlot(String modelId, int cls, int occupancy, int start) {
        int best = -1;
        int bestPriority = Integer.MAX_VALUE;
        for (int i = 0; i < occupancy; i++) {
            int s = (start + i) % occupancy;
            SampleEntry candidate = load(modelId, cls, s);
            if (candidate.correctionPending()) {
                continue;
            }
            if (candidate.priority() == 0) {
                return s;
            }
            if (candidate.priority() < bestPriority) {
                best = s;
                bestPriority = candidate.priority();
            }
        }
        return best;
    }
}
