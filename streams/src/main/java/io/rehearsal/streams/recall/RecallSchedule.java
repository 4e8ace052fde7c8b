package io.rehearsal.streams.recall;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The recall schedule of one shard: one entry per scheduled sample, ordered by tier, due step and
 * sample id (by its UTF-8 bytes), value its class. Entries are found by scanning due steps
 * {@code <= now}, so a batch that comes late (or a skipped punctuation) misses nothing: whatever became
 * due meanwhile is still in the range, most overdue first.
 *
 * <p>In memory only. Every sample entry in the {@code curator-samples} store records its own tier and
 * due step, so the schedule is an index of that store: {@link io.rehearsal.streams.buffer.SampleMemory}
 * rebuilds it from the store when a shard starts (after a restart, a restore or a move) and keeps it in
 * step with every entry it writes. It used to be a store of its own, written twice per visit (the old
 * entry deleted, the new one put, each to RocksDB and a changelog) and scanned from RocksDB, where every
 * visit left a deleted key at the front of the range that each later scan had to step over: the
 * curator's largest cost. Memory: one small object per scheduled sample (short-term capacity plus the
 * long-term buffer, per model and shard).
 */
public final class RecallSchedule {
    /** The most due entries one scan reads per tier; beyond it the backlog is reported as this much. */
    public static final int SCAN_LIMIT = 4096;

    /** Due step, then sample id by its UTF-8 bytes: the order of the former store's keys. */
    private static final Comparator<Slot> ORDER = Comparator.comparingLong(Slot::due)
            .thenComparing(Slot::idBytes, Arrays::compareUnsigned);

    /** Per model: per tier (ordinal), the scheduled entries in order, value the class. */
    private final Map<String, List<NavigableMap<Slot, Integer>>> index = new HashMap<>();

    /** A schedule position: due step and sample id. */
    private record Slot(long due, String sampleId, byte[] idBytes) {
        static Slot of(long due, String sampleId) {
            return new Slot(due, sampleId, sampleId.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Schedules {@code sampleId} (class {@code label}) in {@code tier} at step {@code due}. */
    public void put(String modelId, Tier tier, long due, String sampleId, int label) {
        tier(modelId, tier).put(Slot.of(due, sampleId), label);
    }

    /** Removes the entry of {@code sampleId} at {@code due} in {@code tier}, if there is one. */
    public void delete(String modelId, Tier tier, long due, String sampleId) {
        tier(modelId, tier).remove(Slot.of(due, sampleId));
    }

    private NavigableMap<Slot, Integer> tier(String modelId, Tier tier) {
        return index.computeIfAbsent(modelId, m -> {
            List<NavigableMap<Slot, Integer>> tiers = new ArrayList<>();
            for (int i = 0; i < Tier.values().length; i++) {
                tiers.add(new TreeMap<>(ORDER));
            }
            return tiers;
        }).get(tier.ordinal());
    }

    /**
     * The due entries of one tier.
     *
     * @param byClass due entries per class, most overdue first
     * @param count   how many were read (at most {@link #SCAN_LIMIT})
     */
    public record DueScan(Map<Integer, List<DueEntry>> byClass, int count) {
    }

    /** The entries of {@code tier} due at or before {@code step}. */
    public DueScan due(String modelId, Tier tier, long step) {
        Map<Integer, List<DueEntry>> byClass = new TreeMap<>();
        int count = 0;
        for (Map.Entry<Slot, Integer> e : tier(modelId, tier).entrySet()) {
            if (count >= SCAN_LIMIT || e.getKey().due() > step) {
                break;
            }
            int label = e.getValue();
            byClass.computeIfAbsent(label, c -> new ArrayList<>()).add(new DueEntry(e.getKey().sampleId(), label, e.getKey().due()));
            count++;
        }
        return new DueScan(byClass, count);
    }

    /** The entries of one tier due in {@code (after, until]}, soonest first. */
    public List<DueEntry> between(String modelId, Tier tier, long after, long until) {
        List<DueEntry> out = new ArrayList<>();
        if (until <= after) {
            return out;
        }
        Slot from = new Slot(after + 1, "", new byte[0]); // the empty id sorts before every sample id
        for (Map.Entry<Slot, Integer> e : tier(modelId, tier).tailMap(from, true).entrySet()) {
            if (e.getKey().due() > until) {
                break;
            }
            out.add(new DueEntry(e.getKey().sampleId(), e.getValue(), e.getKey().due()));
        }
        return out;
    }

    /** Every entry of one tier, soonest due first (for tests and diagnostics). */
    public List<DueEntry> all(String modelId, Tier tier) {
        List<DueEntry> out = new ArrayList<>();
        tier(modelId, tier).forEach((slot, label) -> out.add(new DueEntry(slot.sampleId(), label, slot.due())));
        return out;
    }

    /** Whether a tier of a model holds no entry. */
    public boolean isEmpty(String modelId, Tier tier) {
        List<NavigableMap<Slot, Integer>> tiers = index.get(modelId);
        return tiers == null || tiers.get(tier.ordinal()).isEmpty();
    }

    /** How many entries the schedule holds for a model, all tiers together. */
    public int size(String modelId) {
        return index.getOrDefault(modelId, List.of()).stream().mapToInt(Map::size).sum();
    }
}
