package io.rehearsal.tests;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.time.Instant;
import java.util.SplittableRandom;

/**
 * A small, seeded classification problem with one request the model confidently gets wrong until a
 * person corrects it. Class k is a blob around 3 on dimension k (of the first {@value #CLASSES});
 * two more dimensions are noise, and the last, the <i>marker</i>, is 0 in every training sample. The
 * request sits at the centre of class 0 with the marker at 3: the model, never having seen the marker
 * move, predicts class 0 for it, confidently. A person says it is class {@value #TRUE_LABEL}. Only
 * the request moves the marker, so once it is trained on with that label the model can learn it
 * without unlearning class 0 (whose samples all have marker 0): a correction the model can take in
 * within a few visits.
 */
final class CorrectableProblem {
    static final int CLASSES = 3;
    static final int DIMS = CLASSES + 3;
    static final int MARKER = DIMS - 1;
    static final int TRUE_LABEL = 2;
    static final String MODEL = "correctable";
    private final SplittableRandom random;

    CorrectableProblem(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** The centre of a class, marker 0. */
    static float[] centre(int label) {
        float[] x = new float[DIMS];
        x[label] = 3f;
        return x;
    }

    /** The request: class 0's centre, marker 3. */
    static float[] request() {
        float[] x = centre(0);
        x[MARKER] = 3f;
        return x;
    }

    float[] features(int label) {
        float[] x = centre(label);
        for (int d = 0; d < MARKER; d++) {
            x[d] += (float) (random.nextGaussian() * 0.5);
        }
        return x;
    }

    int randomLabel() {
        return random.nextInt(CLASSES);
    }

    /** A labeled training sample of a random class. */
    Sample labeled(String id) {
        int label = randomLabel();
        return sample(id, features(label), label);
    }

    static Sample sample(String id, float[] features, Integer label) {
        return Sample.newBuilder().setId(id).setModelId(MODEL)
                .setFeatures(FeatureTensor.ofFloats(new int[] {features.length}, features)).setLabel(label)
                .setSplit(Split.TRAIN).setSource("test").setEventTime(Instant.now()).build();
    }
}
