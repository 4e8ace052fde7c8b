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
 * <p>Items name their samples and carry no features (those travel once, on the features topic: see
 * {@link SampleIntake}), so a batch is a few kilobytes whatever the size of the inputs.
 */
final class BatchAssembler {
    private final CuratorSettings settings;
    private final SampleMemory memory;
    private final EvalSet evalSet;
    private final CuratorMetrics metrics;
    private final int shard;

    BatchAssembler(CuratorSettings settings, SampleMemory memory, EvalSet evalSet, CuratorMetrics metrics, int shard) {
        this.settings = settings;
        this.memory = memory;
        this.evalSet = evalSet;
        this.metrics = metrics;
        this.shard = shard;
    }

    /**
     * The next TRAIN batch of the model, followed by EVAL batches when an eval round is due; empty when
     * there is nothing to train on.
     *
     * @param replayOnly no fresh sample (linger of a correction, idle replay)
     * @param freshOnly  overload (the curator is behind its input): up to G fresh samples, no recall and no
     *                   correction (the schedule is not even scanned); those stay due for the batches after it
     */
    List<TrainBatch> next(ModelState ms, boolean replayOnly, boolean freshOnly, long wallNow, long sampleOffset) {
        long step = ms.step();
        List<String> freshPlanned = replayOnly ? List.of()
                : memory.peekFresh(ms, freshOnly ? settings.groups() : settings.freshGroups());
        int slots = freshOnly ? 0 : settings.groups() - freshPlanned.size();
        DueScan none = new DueScan(java.util.Map.of(), 0);
        DueScan dueCorrections = freshOnly ? none : memory.schedule().due(ms.modelId, Tier.CORRECTION, step);
        List<DueEntry> corrections = dueCorrections.byClass().values().stream().flatMap(List::stream)
                .sorted(Comparator.comparingLong(DueEntry::due).thenComparing(DueEntry::sampleId))
                .limit(slots).toList();
        slots -= corrections.size();
        DueScan dueShort = freshOnly ? none : memory.schedule().due(ms.modelId, Tier.SHORT, step);
        DueScan dueLong = freshOnly ? none : memory.schedule().due(ms.modelId, Tier.LONG, step);
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

        // 1. compose from the entries as they are now
        List<TrainItem> items = new ArrayList<>(settings.groups());
        List<String> visits = new ArrayList<>(settings.groups());
        for (String id : freshPlanned) {
            SampleEntry e = memory.get(id);
            items.add(item(e, items.size(), ItemRole.FRESH, settings.batches().views()));
            visits.add(e.id());
        }
        int freshTaken = freshPlanned.size();
        memory.takeFresh(ms, freshTaken);
        double lateness = 0;
        int shortRecalls = 0;
        int longRecalls = 0;
        for (List<DueEntry> taken : List.of(corrections, shortTaken.taken(), longTaken.taken(), early)) {
            for (DueEntry d : taken) {
                SampleEntry e = memory.get(d.sampleId());
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
        int recalled = shortRecalls + longRecalls;
        int backlog = dueCorrections.count() + dueShort.count() + dueLong.count()
                - corrections.size() - shortTaken.taken().size() - longTaken.taken().size();
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
        if (freshOnly) {
            metrics.freshOnly(ms.modelId, freshTaken); // the backlog gauges keep their last scanned values
        } else {
            metrics.dueBacklog(shard, ms.modelId, "correction", dueCorrections.count() - corrections.size());
            metrics.dueBacklog(shard, ms.modelId, "short", dueShort.count() - shortTaken.taken().size());
            metrics.dueBacklog(shard, ms.modelId, "long", dueLong.count() - longTaken.taken().size());
        }
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

    /** The whole eval set of the model as EVAL batches of at most B items, one round. */
    List<TrainBatch> evalRound(ModelState ms, long wallNow, long sampleOffset) {
        List<SampleEntry> held = evalSet.all(ms.modelId);
        if (held.isEmpty()) {
            return List.of();
        }
        long round = ms.takeEvalRound();
        List<TrainBatch> out = new ArrayList<>();
        for (int from = 0; from < held.size(); from += settings.batches().size()) {
            List<TrainItem> items = new ArrayList<>();
            for (SampleEntry e : held.subList(from, Math.min(held.size(), from + settings.batches().size()))) {
                items.add(item(e, items.size(), ItemRole.EVAL, 1));
            }
            out.add(evalBatch(ms, items, round, wallNow, sampleOffset));
        }
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
                .setFeatures(null) // by reference: the features topic holds them
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
