package io.rehearsal.tests;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small, seeded problem of two tasks: {@code t0} holds classes 0 and 1, {@code t1} classes 2 and 3. Class k
 * is a blob around 3 on dimension k; two more dimensions are noise. Easy to learn (a few hundred samples), so a
 * test can tell a burst of wrong labels from learning.
 */
final class TwoTaskProblem {
    static final int CLASSES = 4;
    static final int DIMS = CLASSES + 2;
    private final String model;
    private final SplittableRandom random;

    TwoTaskProblem(String model, long seed) {
        this.model = model;
        this.random = new SplittableRandom(seed);
    }

    static String task(int label) {
        return "t" + label / 2;
    }

    float[] features(int label) {
        float[] x = new float[DIMS];
        x[label] = 3f;
        for (int d = 0; d < DIMS; d++) {
            x[d] += (float) (random.nextGaussian() * 0.5);
        }
        return x;
    }

    Sample sample(String id, int trueLabel, int label, Split split) {
        return Sample.newBuilder().setId(id).setModelId(model)
                .setFeatures(FeatureTensor.ofFloats(new int[] {DIMS}, features(trueLabel))).setLabel(label)
                .setSplit(split).setTask(task(trueLabel)).setSource("test").setEventTime(Instant.now()).build();
    }

    /** {@code perClass} held-out samples of every class, ids {@code prefix-<i>}. */
    Map<String, Sample> heldOut(String prefix, int perClass) {
        Map<String, Sample> out = new LinkedHashMap<>();
        for (int i = 0; i < perClass * CLASSES; i++) {
            out.put(prefix + "-" + i, sample(prefix + "-" + i, i % CLASSES, i % CLASSES, Split.EVAL));
        }
        return out;
    }

    /** {@code n} labeled training samples of random classes, ids {@code prefix-<i>}. */
    Map<String, Sample> clean(String prefix, int n) {
        Map<String, Sample> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            int label = random.nextInt(CLASSES);
            out.put(prefix + "-" + i, sample(prefix + "-" + i, label, label, Split.TRAIN));
        }
        return out;
    }
}
