package io.rehearsal.models.train;

import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** Sums over the steps since the previous snapshot, turned into a snapshot's {@link SnapshotMetrics}. */
public final class TrainingWindow {
    private long steps;
    private double loss;
    private double crossEntropy;
    private double consistency;
    private long freshItems;
    private long freshCorrect;
    private final Map<String, Long> freshByTask = new TreeMap<>();
    private Instant newestEventTime;

    public void add(StepResult r) {
        steps++;
        loss += r.loss();
        crossEntropy += r.crossEntropy();
        consistency += r.consistency();
        freshItems += r.freshItems();
        freshCorrect += r.freshCorrect();
    }

    /** A trained step and its batch: which tasks its fresh items belong to, and how recent they are. */
    public void add(StepResult r, TrainBatch batch) {
        add(r);
        for (TrainItem item : batch.getItems()) {
            if (item.getRole() == ItemRole.FRESH) {
                freshByTask.merge(item.getTask() == null ? "" : item.getTask(), 1L, Long::sum);
                if (newestEventTime == null || item.getEventTime().isAfter(newestEventTime)) {
                    newestEventTime = item.getEventTime();
                }
            }
        }
    }

    /** Training steps since the previous snapshot. */
    public long steps() {
        return steps;
    }

    /** Prequential accuracy since the previous snapshot, or NaN without fresh items. */
    public double prequentialAccuracy() {
        return freshItems == 0 ? Double.NaN : freshCorrect / (double) freshItems;
    }

    public SnapshotMetrics toMetrics(long samplesSeen, EvalTracker evals) {
        double n = Math.max(1, steps);
        return SnapshotMetrics.newBuilder()
                .setSamplesSeen(samplesSeen).setLoss(loss / n).setCrossEntropy(crossEntropy / n).setConsistency(consistency / n)
                .setPrequentialAccuracy(freshItems == 0 ? null : prequentialAccuracy())
                .setEvalAccuracy(evals.size() == 0 ? null : evals.accuracy())
                .setEvalAccuracyByClass(Map.copyOf(evals.byClass())).setEvalAccuracyByTask(Map.copyOf(evals.byTask()))
                .setEvalStep(evals.latestStep()).setFreshByTask(Map.copyOf(freshByTask)).setNewestEventTime(newestEventTime)
                .setEvaluations(evals.toAvro())
                .build();
    }

    public void reset() {
        steps = 0;
        loss = 0;
        crossEntropy = 0;
        consistency = 0;
        freshItems = 0;
        freshCorrect = 0;
        freshByTask.clear();
        newestEventTime = null;
    }
}
