package io.rehearsal.streams;

import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.buffer.EvalSet;
import io.rehearsal.streams.buffer.SampleMemory;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.RecallPolicy;
import io.rehearsal.streams.recall.RecallSchedule.DueScan;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.buffer.SampleEntry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Composes the batches of one shard. A TRAIN batch at step s holds at most G = B/R view groups:
 *
 * <ol>
 *   <li>up to ceil(rho_new * G) fresh samples, oldest first (none in a replay-only batch);</li>
 *   <li>then corrected samples that are due (the front of the schedule), oldest due first;</li>
 *   <li>then the remaining groups go to recalls due at or before s, split between the tiers by
 *       {@link RecallPolicy#split} and taken round-robin across classes, most overdue first
 *       ({@link RecallPolicy#roundRobin});</li>
 *   <li>with {@code fillRecalls}, groups still empty take the entries due soonest (never one visited
 *       less than I_min steps ago).</li>
 * </ol>
 *
 * Items are listed fresh first, then corrections, then short-term, then long-term recalls; {@code groupId} is the
 * index. Each taken sample is then visited: its next recall is scheduled. After every
 * {@code evalEverySteps} TRAIN batches the eval set follows as EVAL batches of at most B items.
 *
 * <p>Every batch stays under {@code maxBatchBytes} (the train-batches topic's limit less a margin) by
 * construction: items carry their features, so large inputs can fill a batch before it has G groups. The
 * planned items are then cut from the end (early fills first, then long-term, short-term and corrections;
 * fresh samples last): what is cut stays fresh or due for the next batch. A sample whose own item could not
 * fit is refused at admission ({@link #fits}), so every batch takes at least one item.
 */
final class BatchAssembler {
    /** Upper bound of a TrainBatch's encoding without its items (ids, stats, counters). */
    static final int BATCH_OVERHEAD_BYTES = 2048;
    /** Upper bound of an item's encoding besides its feature data, sample id and task. */
    static final int ITEM_OVERHEAD_BYTES = 128;

    private final CuratorSettings settings;
    private final SampleMemory memory;
    private final EvalSet evalSet;
    private final CuratorMetrics metrics;
    private final int shard;
    private final long maxBatchBytes;

    BatchAssembler(CuratorSettings settings, SampleMemory memory, EvalSet evalSet, CuratorMetrics metrics, int shard,
                   long maxBatchBytes) {
        this.settings = settings;
        this.memory = memory;
        this.evalSet = evalSet;
        this.metrics = metrics;
        this.shard = shard;
        this.maxBatchBytes = maxBatchBytes;
    }

    /** The most bytes the items of one batch may take. */
    long itemBudget() {
        return maxBatchBytes - BATCH_OVERHEAD_BYTES;
    }

    /** Whether an item of this sample fits in a batch on its own (else the curator refuses the sample). */
    boolean fits(long itemBytes) {
        return itemBytes <= itemBudget();
    }

    /** An upper bound of the encoded size of an item with these features, id and task. */
    static long itemBytes(int featureDataBytes, int dims, String sampleId, String task) {
        return ITEM_OVERHEAD_BYTES + 5L * dims + featureDataBytes + utf8Length(sampleId) + (task == null ? 0 : utf8Length(task));
    }

    private static long itemBytes(SampleEntry e) {
        return itemBytes(e.features().getData().remaining(), e.features().getShape().size(), e.id(), e.task());
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return n;
    }

    /**
     * The next TRAIN batch of the model, followed by EVAL batches when an eval round is due; empty when
     * there is nothing to train on.
     */
    List<TrainBatch> next(ModelState ms, boolean replayOnly, long wallNow, long sampleOffset) {
        long step = ms.step();
        List<String> freshPlanned = replayOnly ? List.of() : memory.peekFresh(ms, settings.freshGroups());
        int slots = settings.groups() - freshPlanned.size();
        DueScan dueCorrections = memory.schedule().due(ms.modelId, Tier.CORRECTION, step);
        List<DueEntry> corrections = dueCorrections.byClass().values().stream().flatMap(List::stream)
                .sorted(Comparator.comparingLong(DueEntry::due).thenComparing(DueEntry::sampleId))
                .limit(slots).toList();
        slots -= corrections.size();
        DueScan dueShort = memory.schedule().due(ms.modelId, Tier.SHORT, step);
        DueScan dueLong = memory.schedule().due(ms.modelId, Tier.LONG, step);
        RecallPolicy.Split split = RecallPolicy.split(slots, settings.batches().longTermShare(), dueShort.count(), dueLong.count());
        RecallPolicy.Selection shortTaken = RecallPolicy.roundRobin(dueShort.byClass(), split.shortTerm(), ms.lastShortClass());
        RecallPolicy.Selection longTaken = RecallPolicy.roundRobin(dueLong.byClass(), split.longTerm(), ms.lastLongClass());
        List<DueEntry> early = settings.batches().fillRecalls()
                ? early(ms, step, slots - split.shortTerm() - split.longTerm()) : List.of();
        if (freshPlanned.isEmpty() && corrections.isEmpty() && shortTaken.taken().isEmpty() && longTaken.taken().isEmpty()
                && early.isEmpty()) {
            return List.of();
        }
        ms.rotated(shortTaken.lastClass(), longTaken.lastClass());

        // 1. compose from the entries as they are now, in plan order, while the items fit the byte budget
        List<TrainItem> items = new ArrayList<>(settings.groups());
        List<String> visits = new ArrayList<>(settings.groups());
        long budget = itemBudget();
        boolean full = false;
        int freshTaken = 0;
        for (String id : freshPlanned) {
            SampleEntry e = memory.getWithFeatures(id);
            long bytes = itemBytes(e);
            if (bytes > budget && !items.isEmpty()) {
                full = true;
                break;
            }
            budget -= bytes;
            items.add(item(e, items.size(), ItemRole.FRESH, settings.batches().views()));
            visits.add(e.id());
            freshTaken++;
        }
        memory.takeFresh(ms, freshTaken);
        int cut = 0;
        double lateness = 0;
        int shortRecalls = 0;
        int longRecalls = 0;
        int correctionsTaken = 0;
        int shortTakenCount = 0;
        int longTakenCount = 0;
        List<List<DueEntry>> plan = List.of(corrections, shortTaken.taken(), longTaken.taken(), early);
        for (int part = 0; part < plan.size(); part++) {
            for (DueEntry d : plan.get(part)) {
                if (full) {
                    cut++;
                    continue;
                }
                SampleEntry e = memory.getWithFeatures(d.sampleId());
                long bytes = itemBytes(e);
                if (bytes > budget && !items.isEmpty()) {
                    full = true;
                    cut++;
                    continue;
                }
                budget -= bytes;
                correctionsTaken += part == 0 ? 1 : 0;
                shortTakenCount += part == 1 ? 1 : 0;
                longTakenCount += part == 2 ? 1 : 0;
                Tier tier = Tier.of(e.tier());
                boolean fromLong = tier == Tier.LONG || (tier == Tier.CORRECTION && e.inLongTerm());
                shortRecalls += fromLong ? 0 : 1;
                longRecalls += fromLong ? 1 : 0;
                items.add(item(e, items.size(), ItemRole.RECALL, settings.batches().views()));
                visits.add(e.id());
                lateness += Math.max(0, step - d.due());
                metrics.recalled(ms.modelId, tier.name().toLowerCase(Locale.ROOT), e.recallCount(), step - e.lastVisit(),
                        Math.max(0, step - d.due()));
            }
        }
        // 2. visit them: schedule the next recall (an entry evicted meanwhile by a hand-over is skipped)
        for (String id : visits) {
            SampleEntry e = memory.get(id);
            if (e != null && (e.fresh() || e.scheduled())) {
                memory.visited(e, ms, step);
            }
        }
        if (full) {
            metrics.batchCut(ms.modelId, freshPlanned.size() - freshTaken + cut);
        }
        int recalled = shortRecalls + longRecalls;
        int backlog = dueCorrections.count() + dueShort.count() + dueLong.count()
                - correctionsTaken - shortTakenCount - longTakenCount;
        ScheduleStats stats = ScheduleStats.newBuilder()
                .setFreshGroups(freshTaken)
                .setShortTermRecalls(shortRecalls)
                .setLongTermRecalls(longRecalls)
                .setDueBacklog(backlog)
                .setMeanLatenessSteps(recalled == 0 ? 0.0 : lateness / recalled)
                .setShortTermSize(ms.shortTermSize())
                .setLongTermSize(ms.longTermSize())
                .setClasses(ms.classesSeen())
                .build();
        List<TrainBatch> out = new ArrayList<>();
        out.add(batch(ms, BatchKind.TRAIN, settings.batches().views(), items, stats, null, wallNow, sampleOffset));
        metrics.batch(ms.modelId, "train", freshTaken, recalled);
        metrics.dueBacklog(shard, ms.modelId, "correction", dueCorrections.count() - correctionsTaken);
        metrics.dueBacklog(shard, ms.modelId, "short", dueShort.count() - shortTakenCount);
        metrics.dueBacklog(shard, ms.modelId, "long", dueLong.count() - longTakenCount);
        ms.stepped(wallNow);
        if (settings.evaluation().everySteps() > 0 && ms.step() % settings.evaluation().everySteps() == 0) {
            out.addAll(evalRound(ms, wallNow, sampleOffset));
        }
        return out;
    }

    /**
     * Entries not due yet, soonest due first across both tiers (short-term first on ties), skipping any
     * visited less than I_min steps ago: what fills recall groups the due entries left empty.
     */
    private List<DueEntry> early(ModelState ms, long step, int n) {
        if (n <= 0) {
            return List.of();
        }
        List<DueEntry> out = new ArrayList<>(n);
        long horizon = step + settings.resolvedMaxInterval() + 1;
        // scan windows of growing width after `step` (a range scan copies its whole range)
        for (long from = step, width = Math.max(4, settings.resolvedBaseInterval() / 4);
             out.size() < n && from < horizon; from += width, width *= 2) {
            long to = Math.min(horizon, from + width);
            List<DueEntry> candidates = new ArrayList<>();
            candidates.addAll(memory.schedule().between(ms.modelId, Tier.SHORT, from, to));
            candidates.addAll(memory.schedule().between(ms.modelId, Tier.LONG, from, to));
            candidates.sort(Comparator.comparingLong(DueEntry::due)); // stable: short-term first on ties
            for (DueEntry d : candidates) {
                if (out.size() == n) {
                    break;
                }
                if (memory.get(d.sampleId()).lastVisit() + settings.intervals().min() <= step) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    /** The whole eval set of the model as EVAL batches of at most B items (and the byte budget), one round. */
    List<TrainBatch> evalRound(ModelState ms, long wallNow, long sampleOffset) {
        List<SampleEntry> held = evalSet.all(ms.modelId);
        if (held.isEmpty()) {
            return List.of();
        }
        long round = ms.takeEvalRound();
        List<TrainBatch> out = new ArrayList<>();
        List<TrainItem> items = new ArrayList<>();
        long budget = itemBudget();
        for (SampleEntry e : held) {
            long bytes = itemBytes(e);
            if (!items.isEmpty() && (items.size() == settings.batches().size() || bytes > budget)) {
                out.add(evalBatch(ms, items, round, wallNow, sampleOffset));
                items = new ArrayList<>();
                budget = itemBudget();
            }
            budget -= bytes;
            items.add(item(e, items.size(), ItemRole.EVAL, 1));
        }
        out.add(evalBatch(ms, items, round, wallNow, sampleOffset));
        return out;
    }

    private TrainBatch evalBatch(ModelState ms, List<TrainItem> items, long round, long wallNow, long sampleOffset) {
        ScheduleStats stats = new ScheduleStats(0, 0, 0, 0, 0.0, ms.shortTermSize(), ms.longTermSize(), ms.classesSeen());
        metrics.batch(ms.modelId, "eval", 0, 0);
        return batch(ms, BatchKind.EVAL, 1, items, stats, round, wallNow, sampleOffset);
    }

    private TrainBatch batch(ModelState ms, BatchKind kind, int views, List<TrainItem> items, ScheduleStats stats,
                             Long evalRound, long wallNow, long sampleOffset) {
        long sequence = ms.takeSequence();
        return TrainBatch.newBuilder()
                .setBatchId(ms.modelId + "/" + shard + "/" + sequence)
                .setModelId(ms.modelId)
                .setShard(shard)
                .setSequence(sequence)
                .setKind(kind)
                .setViews(views)
                .setItems(items)
                .setStats(stats)
                .setSampleOffset(sampleOffset)
                .setEvalRound(evalRound)
                .setCreatedTime(Instant.ofEpochMilli(wallNow))
                .build();
    }

    private static TrainItem item(SampleEntry e, int group, ItemRole role, int views) {
        return TrainItem.newBuilder()
                .setSampleId(e.id())
                .setLabel(e.label())
                .setLabelVersion(e.labelVersion())
                .setFeatures(e.features())
                .setViews(views)
                .setGroupId(group)
                .setRole(role)
                .setRecallCount(role == ItemRole.RECALL ? e.recallCount() : 0)
                .setTask(e.task())
                .setSourcePartition(e.sourcePartition())
                .setSourceOffset(e.sourceOffset())
                .setEventTime(e.eventInstant())
                .build();
    }
}
