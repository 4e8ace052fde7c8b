package io.rehearsal.models.train;

import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.util.Map;

/** Sums over the steps since the previous snapshot, turned into a snapshot's {@link SnapshotMetrics}. */
public final class TrainingWindow {
    private long steps;
    private double loss;
    private double crossEntropy;
    private double consistency;
    private long freshItems;
    private long freshCorrect;

    public void add(StepResult r) {
        steps++;
        loss += r.loss();
        crossEntropy += r.crossEntropy();
        consistency += r.consistency();
        freshItems += r.freshItems();
        freshCorrect += r.freshCorrect();
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
        return new SnapshotMetrics(samplesSeen, loss / n, crossEntropy / n, consistency / n,
                freshItems == 0 ? null : prequentialAccuracy(),
                evals.size() == 0 ? null : evals.accuracy(),
                Map.copyOf(evals.byClass()), Map.copyOf(evals.byTask()));
    }

    public void reset() {
        steps = 0;
        loss = 0;
        crossEntropy = 0;
        consistency = 0;
        freshItems = 0;
        freshCorrect = 0;
    }
}
