package io.rehearsal.models.promote;

import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Evaluates one model version on the held-out set: accuracy overall, per task and per class, with the
 * number of samples behind each. Predictions go in slices of {@value #SLICE} inputs, one forward pass each.
 */
final class Evaluations {
    static final int SLICE = 256;
    /** The most tasks an evaluation lists (the rest are counted overall only): records stay bounded. */
    static final int MAX_TASKS = 512;
    /** The most classes an evaluation lists. */
    static final int MAX_CLASSES = 4096;

    private Evaluations() {
    }

    /**
     * @param version   the version evaluated
     * @param predictor inputs to predicted class ids, all from that version
     */
    static Evaluation evaluate(long version, HeldOutSet set, Function<List<float[]>, int[]> predictor) {
        List<HeldOutSet.Item> items = set.items();
        Map<String, long[]> byTask = new TreeMap<>();
        Map<String, long[]> byClass = new TreeMap<>();
        long correct = 0;
        for (int from = 0; from < items.size(); from += SLICE) {
            List<HeldOutSet.Item> slice = items.subList(from, Math.min(items.size(), from + SLICE));
            List<float[]> inputs = new ArrayList<>(slice.size());
            slice.forEach(i -> inputs.add(i.features()));
            int[] predicted = predictor.apply(inputs);
            for (int k = 0; k < slice.size(); k++) {
                HeldOutSet.Item item = slice.get(k);
                boolean right = predicted[k] == item.label();
                correct += right ? 1 : 0;
                count(byTask, item.task(), right, MAX_TASKS);
                count(byClass, Integer.toString(item.label()), right, MAX_CLASSES);
            }
        }
        return Evaluation.newBuilder()
                .setVersion(version)
                .setSamples(items.size())
                .setEvalOffset(set.offset())
                .setAccuracy(items.isEmpty() ? 0.0 : (double) correct / items.size())
                .setByTask(scores(byTask))
                .setByClass(scores(byClass))
                .build();
    }

    private static void count(Map<String, long[]> groups, String key, boolean right, int max) {
        long[] c = groups.get(key);
        if (c == null) {
            if (groups.size() >= max) {
                return;
            }
            c = new long[2];
            groups.put(key, c);
        }
        c[0] += right ? 1 : 0;
        c[1]++;
    }

    private static Map<String, GroupScore> scores(Map<String, long[]> groups) {
        Map<String, GroupScore> out = new TreeMap<>();
        groups.forEach((k, c) -> out.put(k, new GroupScore((double) c[0] / c[1], (int) c[1])));
        return out;
    }
}
