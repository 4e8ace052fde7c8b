package io.rehearsal.models.subscribe;

import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.ScoredLabel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One answer of a served model: the most likely class, its probability, the best {@code k} classes, and
 * the version of the model that computed all of it (one model computes a whole prediction, even while a
 * newer version is being swapped in).
 *
 * @param label         the most likely class
 * @param confidence    its softmax probability
 * @param topK          the best classes, most likely first
 * @param probabilities the softmax probability of every class
 * @param modelVersion  the snapshot version that answered
 */
public record ModelPrediction(int label, float confidence, List<Score> topK, float[] probabilities, long modelVersion) {
    /** A class and its probability. */
    public record Score(int label, float probability) {
    }

    public ModelPrediction {
        topK = List.copyOf(topK);
        probabilities = probabilities.clone();
    }

    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    /** The prediction from class probabilities: argmax, its probability and the best {@code k}. */
    static ModelPrediction of(float[] probabilities, int k, long version) {
        int n = probabilities.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // stable: ties keep the lower class first, as argmax does
        java.util.Arrays.sort(order, (a, b) -> Float.compare(probabilities[b], probabilities[a]));
        List<Score> top = new ArrayList<>();
        for (int i = 0; i < Math.min(k, n); i++) {
            top.add(new Score(order[i], probabilities[order[i]]));
        }
        return new ModelPrediction(order[0], probabilities[order[0]], top, probabilities, version);
    }

    /** The Avro record for {@code rehearsal.predictions}. */
    public Prediction toAvro(String sampleId, String modelId, Instant requestTime, Instant predictedTime) {
        List<ScoredLabel> scored = new ArrayList<>(topK.size());
        topK.forEach(s -> scored.add(new ScoredLabel(s.label(), s.probability())));
        return new Prediction(sampleId, modelId, label, confidence, scored, modelVersion, requestTime, predictedTime);
    }
}
