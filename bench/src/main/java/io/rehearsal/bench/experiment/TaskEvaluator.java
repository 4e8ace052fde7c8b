package io.rehearsal.bench.experiment;

import io.rehearsal.bench.data.ClassIncrementalStream.TaskTest;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.schemas.FeatureTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Accuracy on each task's held-out test images (never streamed, never trained on). Inputs are built
 * once, through the same {@link FeatureTensor} path the trainer reads samples with.
 */
public final class TaskEvaluator {
    private final List<List<float[]>> inputs = new ArrayList<>();
    private final List<int[]> labels = new ArrayList<>();

    /** @param capPerTask at most this many images per task (the first ones; 0 = all) */
    public TaskEvaluator(List<TaskTest> tests, int capPerTask) {
        int[] shape = {1, FashionMnist.ROWS, FashionMnist.COLS};
        for (TaskTest t : tests) {
            int n = capPerTask > 0 ? Math.min(capPerTask, t.labels().length) : t.labels().length;
            List<float[]> x = new ArrayList<>(n);
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                x.add(FeatureTensor.toFloats(FeatureTensor.ofBytes(shape, t.images()[i])));
                y[i] = t.labels()[i];
            }
            inputs.add(x);
            labels.add(y);
        }
    }

    public int tasks() {
        return inputs.size();
    }

    /** Accuracy per task of a predictor (inputs → predicted class ids). */
    public double[] accuracies(Function<List<float[]>, int[]> predictor) {
        double[] out = new double[inputs.size()];
        for (int t = 0; t < out.length; t++) {
            int[] predicted = predictor.apply(inputs.get(t));
            int correct = 0;
            for (int i = 0; i < predicted.length; i++) {
                correct += predicted[i] == labels.get(t)[i] ? 1 : 0;
            }
            out[t] = predicted.length == 0 ? Double.NaN : (double) correct / predicted.length;
        }
        return out;
    }
}
