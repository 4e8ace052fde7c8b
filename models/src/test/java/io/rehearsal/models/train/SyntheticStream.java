package io.rehearsal.models.train;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded stream of TrainBatches over a linearly separable problem: class k is a Gaussian blob
 * around its own random centre (distance between centres >> noise).
 */
public final class SyntheticStream {
    private final String modelId;
    private final int dims;
    private final int classes;
    private final float[][] centres;
    private final SplittableRandom random;
    private long sequence;
    private long sampleCounter;

    public SyntheticStream(String modelId, int dims, int classes, long seed) {
        this.modelId = modelId;
        this.dims = dims;
        this.classes = classes;
        this.random = new SplittableRandom(seed);
        this.centres = new float[classes][dims];
        for (float[] c : centres) {
            for (int d = 0; d < dims; d++) {
                c[d] = (float) (random.nextGaussian() * 2.0);
            }
        }
    }

    /** One sample of class {@code label}. */
    public float[] sample(int label) {
        float[] x = new float[dims];
        for (int d = 0; d < dims; d++) {
            x[d] = centres[label][d] + (float) (random.nextGaussian() * 0.5);
        }
        return x;
    }

    public int randomLabel() {
        return random.nextInt(classes);
    }

    /** A TRAIN batch of {@code groups} fresh items with {@code views} views each. */
    public TrainBatch trainBatch(int groups, int views) {
        List<TrainItem> items = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            int label = randomLabel();
            items.add(item("s" + sampleCounter++, label, sample(label), views, g, ItemRole.FRESH, null));
        }
        return batch(BatchKind.TRAIN, views, items, null);
    }

    /** An EVAL batch of the given samples. */
    public TrainBatch evalBatch(List<float[]> xs, List<Integer> labels, long round) {
        List<TrainItem> items = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) {
            items.add(item("eval-" + i, labels.get(i), xs.get(i), 1, i, ItemRole.EVAL, "task-" + labels.get(i) / 2));
        }
        return batch(BatchKind.EVAL, 1, items, round);
    }

    public TrainBatch batch(BatchKind kind, int views, List<TrainItem> items, Long round) {
        long seq = sequence++;
        ScheduleStats stats = new ScheduleStats(items.size(), 0, 0, 0, 0.0, 0, 0, classes);
        return new TrainBatch(modelId + "/0/" + seq, modelId, 0, seq, kind, views, items, stats, sampleCounter - 1,
                round, Instant.ofEpochMilli(1_700_000_000_000L + seq));
    }

    public static TrainItem item(String id, int label, float[] x, int views, int group, ItemRole role, String task) {
        return new TrainItem(id, label, 0, FeatureTensor.ofFloats(new int[] {x.length}, x), views, group, role, 0, task,
                0, 0L, Instant.ofEpochMilli(1_700_000_000_000L));
    }
}
