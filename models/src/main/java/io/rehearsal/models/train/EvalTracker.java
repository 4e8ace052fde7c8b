package io.rehearsal.models.train;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The latest evaluation of each held-out sample, and accuracies over them: overall, per class and per
 * task. A sample evaluated again (a later round) replaces its previous result, so the accuracies
 * describe the current model on the whole held-out set seen so far, which is what an accuracy
 * matrix and forgetting need.
 */
public final class EvalTracker {
    private record Result(int label, String task, boolean correct, long round) {
    }

    private final Map<String, Result> latest = new HashMap<>();

    /** Records the prediction for one held-out sample. */
    public void record(String sampleId, int label, String task, int predicted, long round) {
        latest.put(sampleId, new Result(label, task, label == predicted, round));
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

    /** Accuracy per class (key: class id in decimal). */
    public Map<String, Double> byClass() {
        return group(true);
    }

    /** Accuracy per task; samples without a task are grouped under {@code ""}. */
    public Map<String, Double> byTask() {
        return group(false);
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
