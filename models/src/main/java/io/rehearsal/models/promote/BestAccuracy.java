package io.rehearsal.models.promote;

import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per task and per class, the best held-out accuracy reached under a promoted version: what a candidate's
 * forgetting is measured from, so that a slow slide cannot ratchet down one promotion at a time.
 *
 * @param byTask  task or tag → best accuracy
 * @param byClass class id (decimal) → best accuracy
 */
public record BestAccuracy(Map<String, Double> byTask, Map<String, Double> byClass) {
    public BestAccuracy {
        byTask = Map.copyOf(byTask);
        byClass = Map.copyOf(byClass);
    }

    /** Nothing promoted yet, or an operator's promotion by hand: no memory. */
    public static BestAccuracy none() {
        return new BestAccuracy(Map.of(), Map.of());
    }

    /** This, raised by a promoted version's evaluation (groups with at least {@code minSamples} samples). */
    public BestAccuracy raisedBy(Evaluation promoted, int minSamples) {
        return new BestAccuracy(raise(byTask, promoted.getByTask(), minSamples), raise(byClass, promoted.getByClass(), minSamples));
    }

    private static Map<String, Double> raise(Map<String, Double> best, Map<String, GroupScore> scores, int minSamples) {
        Map<String, Double> out = new TreeMap<>(best);
        scores.forEach((k, s) -> {
            if (s.getSamples() >= minSamples) {
                out.merge(k, s.getAccuracy(), Math::max);
            }
        });
        return out;
    }
}
