package io.rehearsal.streams.recall;

import io.rehearsal.streams.random.Seeds;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The pure rules of the view-batch recall schedule, in training steps (batches of one model and shard):
 *
 * <ul>
 *   <li>after its k-th visit (k = 0 is the fresh visit) a sample is due again after
 *       I_k = min(I_max, I_0 * g^k) steps, times a seeded jitter in [1 - j, 1 + j), clamped to
 *       [I_min, I_max];</li>
 *   <li>a LABEL correction of a trained sample, when corrections are recalled, is due now, but never less than
 *       I_min steps after the last visit;</li>
 *   <li>the recall groups of a batch are split between the tiers: the long-term tier is offered
 *       round(longTermShare * slots) first, the short-term tier the rest, and what one tier cannot use
 *       goes to the other;</li>
 *   <li>within a tier, due entries are taken round-robin across classes: classes take turns (the
 *       rotation carries over from batch to batch) and each turn takes the class's most overdue
 *       entry.</li>
 * </ul>
 *
 * Nothing here touches a store; {@code RecallPolicyTest} covers it alone.
 */
public final class RecallPolicy {
    private final long base;
    private final long max;
    private final long min;
    private final double growth;
    private final double jitter;
    private final long seed;
    private final boolean recallCorrections;

    public RecallPolicy(long base, long max, long min, double growth, double jitter, long seed) {
        this(base, max, min, growth, jitter, seed, false);
    }

    /**
     * @param recallCorrections whether a LABEL correction of a trained sample gets a recall of its own, ahead of
     *                          every other recall (else the sample keeps its schedule and its next recall carries
     *                          the new label)
     */
    public RecallPolicy(long base, long max, long min, double growth, double jitter, long seed, boolean recallCorrections) {
        if (min < 1 || base < min || max < base || growth < 1 || jitter < 0 || jitter >= 1) {
            throw new IllegalArgumentException(String.format(
                    "need 1 <= I_min (%d) <= I_0 (%d) <= I_max (%d), g (%s) >= 1, jitter (%s) in [0, 1)",
                    min, base, max, growth, jitter));
        }
        this.base = base;
        this.max = max;
        this.min = min;
        this.growth = growth;
        this.jitter = jitter;
        this.seed = seed;
        this.recallCorrections = recallCorrections;
    }

    /** Whether a LABEL correction of a trained sample gets a recall of its own, ahead of every other recall. */
    public boolean recallsCorrections() {
        return recallCorrections;
    }

    /** I_k without jitter: min(I_max, I_0 * g^k). */
    public double nominalInterval(int k) {
        return Math.min(max, base * Math.pow(growth, k));
    }

    /** I_k with the jitter draw {@code u} in [0, 1), rounded and clamped to [I_min, I_max]. */
    public long interval(int k, double u) {
        double jittered = nominalInterval(k) * (1 + jitter * (2 * u - 1));
        return Math.max(min, Math.min(max, Math.round(jittered)));
    }

    /** The step a sample visited at {@code step} for the k-th time is due again at (seeded jitter). */
    public long nextDue(long step, int k, String modelId, String sampleId) {
        return step + interval(k, Seeds.uniform(seed, "interval", modelId, sampleId, step));
    }

    /** A correction's due step: now, but not sooner than I_min after the last visit (-1 = never visited). */
    public long correctionDue(long now, long lastVisit) {
        return lastVisit < 0 ? now : Math.max(now, lastVisit + min);
    }

    public long minInterval() {
        return min;
    }

    public long maxInterval() {
        return max;
    }

    /** How many recall groups each tier gets. */
    public record Split(int shortTerm, int longTerm) {
    }

    /**
     * Splits {@code slots} recall groups: the long-term tier is offered round(longShare * slots), the
     * short-term tier the rest; unused capacity of either goes to the other.
     */
    public static Split split(int slots, double longShare, int dueShort, int dueLong) {
        int longTerm = Math.min(dueLong, (int) Math.round(longShare * slots));
        int shortTerm = Math.min(dueShort, slots - longTerm);
        longTerm += Math.min(dueLong - longTerm, slots - longTerm - shortTerm);
        return new Split(shortTerm, longTerm);
    }

    /** What a round-robin pass took, and the class served last (the next pass starts after it). */
    public record Selection(List<DueEntry> taken, int lastClass) {
    }

    /**
     * Takes up to {@code n} entries round-robin across classes: classes take turns in ascending order,
     * starting after {@code lastClass} and wrapping around, and each turn takes the class's most overdue
     * entry. So across batches every class with due entries is served in rotation, however overdue the
     * others are.
     *
     * @param byClass   due entries per class, each list most overdue first
     * @param n         how many to take
     * @param lastClass the class served last (in this or the previous batch); -1 for none
     */
    public static Selection roundRobin(Map<Integer, List<DueEntry>> byClass, int n, int lastClass) {
        TreeMap<Integer, Deque<DueEntry>> queues = new TreeMap<>();
        byClass.forEach((c, list) -> {
            if (!list.isEmpty()) {
                queues.put(c, new ArrayDeque<>(list));
            }
        });
        List<DueEntry> taken = new ArrayList<>(n);
        int last = lastClass;
        while (taken.size() < n && !queues.isEmpty()) {
            Integer next = queues.higherKey(last);
            int c = next != null ? next : queues.firstKey();
            Deque<DueEntry> q = queues.get(c);
            taken.add(q.pollFirst());
            last = c;
            if (q.isEmpty()) {
                queues.remove(c);
            }
        }
        return new Selection(taken, last);
    }
}
