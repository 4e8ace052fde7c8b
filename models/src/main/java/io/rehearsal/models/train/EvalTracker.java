package io.rehearsal.models.train;

import io.rehearsal.schemas.avro.HeldOutResult;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The latest evaluation of each held-out sample, and accuracies over them: overall, per class and per
 * task. A sample evaluated again (a later round) replaces its previous result, so the accuracies
 * describe the current model on the whole held-out set seen so far, which is what an accuracy
 * matrix and forgetting need. Snapshots carry the results ({@link #toAvro}), so a trainer resumed from one
 * goes on from them ({@link #restore}) instead of from nothing.
 */
public final class EvalTracker {
    /** The most results a snapshot carries: the most recently evaluated ones. */
    public static final int MAX_CARRIED = 10_000;

    private record Result(int label, String task, boolean correct, long round, long step) {
    }

    private final Map<String, Result> latest = new HashMap<>();

    /** Records the prediction for one held-out sample, made by the model at training step {@code step}. */
    public void record(String sampleId, int label, String task, int predicted, long round, long step) {
        latest.put(sampleId, new Result(label, task, label == predicted, round, step));
    }

    /** Held-out samples evaluated so far. */
    public int size() {
        return latest.size();
    }

    /** Accuracy over the latest result of every held-out sample; NaN if none. */
    public double accuracy() {
        return latest.isEmpty() ? Double.NaN
                : latest.values().stream().filter(Result::correct).count() / (double) latest.size();
    }

    /** The latest training step at which a held-out sample was evaluated, or null before any. */
    public Long latestStep() {
        return latest.values().stream().map(Result::step).max(Long::compare).orElse(null);
    }

    /** Accuracy per class (key: class id in decimal). */
    public Map<String, Double> byClass() {
        return group(true);
    }

    /** Accuracy per task; samples without a task are grouped under {@code ""}. */
    public Map<String, Double> byTask() {
        return group(false);
    }

    /** The results as a snapshot carries them: at most {@link #MAX_CARRIED}, the most recently evaluated, by sample id. */
    public List<HeldOutResult> toAvro() {
        return latest.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, Result> e) -> e.getValue().step()).reversed()
                        .thenComparing(Map.Entry::getKey))
                .limit(MAX_CARRIED)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> new HeldOutResult(e.getKey(), e.getValue().label(), e.getValue().task(), e.getValue().correct(),
                        e.getValue().round(), e.getValue().step()))
                .toList();
    }

    /** Starts from the results a snapshot carried (replacing what is held). */
    public void restore(List<HeldOutResult> results) {
        latest.clear();
        for (HeldOutResult r : results) {
            latest.put(r.getSampleId(), new Result(r.getLabel(), r.getTask(), r.getCorrect(), r.getRound(), r.getStep()));
        }
    }

    private Map<String, Double> group(boolean byClass) {
        Map<String, long[]> counts = new TreeMap<>();
        for (Result r : latest.values()) {
            String key = byClass ? Integer.toString(r.label()) : (r.task() == null ? "" : r.task());
            long[] c = counts.computeIfAbsent(key, k -> new long[2]);
            c[0] += r.correct() ? 1 : 0;
            c[1]++;
        }
        Map<String, Double> out = new TreeMap<>();
        counts.forEach((k, c) -> out.put(k, c[0] / (double) c[1]));
        return out;
    }
}
