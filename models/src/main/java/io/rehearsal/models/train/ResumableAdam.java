package io.rehearsal.models.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.ParameterList;
import ai.djl.training.optimizer.Optimizer;
import io.rehearsal.models.runtime.NamedTensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Adam whose moments and step count can be exported and imported ({@link ResumableOptimizer}).
 *
 * <p>The update is DJL 0.36's {@code Adam} with a fixed learning rate, through the same engine kernel
 * ({@code NDArrayEx.adamUpdate}), so the weights are bit-identical to it (tested). The bias correction
 * uses the update count t as DJL counts it: the highest number of updates of any parameter. State:
 * {@code mean/<parameter>}, {@code variance/<parameter>} and {@code adam/updates}, t as a float32
 * scalar (exact up to 2^24 updates; beyond that both bias corrections are exactly 1 anyway).
 */
public final class ResumableAdam extends Optimizer implements ResumableOptimizer {
    static final String UPDATES = "adam/updates";
    private final float learningRate;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final StateSlot means = new StateSlot("mean");
    private final StateSlot variances = new StateSlot("variance");
    private final Map<String, Integer> counts = new ConcurrentHashMap<>();
    /** t of the first update: 1, or one more than the count imported. */
    private volatile int begin;
    private volatile int updates;

    private ResumableAdam(Builder builder) {
        super(builder);
        this.learningRate = builder.learningRate;
        this.beta1 = builder.beta1;
        this.beta2 = builder.beta2;
        this.epsilon = builder.epsilon;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        int t = count(parameterId);
        double coef1 = 1.0 - Math.pow(beta1, t);
        double coef2 = 1.0 - Math.pow(beta2, t);
        float biasCorrected = (float) (learningRate * Math.sqrt(coef2) / coef1);
        float weightDecay = getWeightDecay();
        if (!Float.isFinite(biasCorrected) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("learning rate or weight decay is nan or infinite");
        }
        NDList inputs = new NDList(weight, grad, means.get(parameterId, weight), variances.get(parameterId, weight));
        weight.getNDArrayInternal().adamUpdate(inputs, new NDList(weight), learningRate, biasCorrected, weightDecay,
                rescaleGrad, clipGrad, beta1, beta2, epsilon, true, false);
    }

    /** As DJL's {@code Optimizer.updateCount}: this parameter's count, and t = the highest count so far. */
    private synchronized int count(String parameterId) {
        int count = counts.merge(parameterId, begin + 1, (old, one) -> old + 1);
        updates = Math.max(updates, count);
        return updates;
    }

    @Override
    public synchronized List<NamedTensor> exportState(ParameterList parameters) {
        List<NamedTensor> out = new ArrayList<>();
        if (updates == 0) {
            return out;
        }
        means.exportTo(parameters, out);
        variances.exportTo(parameters, out);
        out.add(new NamedTensor(UPDATES, new long[0], new float[] {updates}));
        return out;
    }

    @Override
    public synchronized void importState(ParameterList parameters, List<NamedTensor> state) {
        Map<String, NamedTensor> byName = OptimizerStates.byName(state);
        Set<String> known = new HashSet<>();
        means.namesFor(parameters, known);
        variances.namesFor(parameters, known);
        known.add(UPDATES);
        OptimizerStates.requireKnown(byName, known, "Adam");
        NamedTensor t = byName.get(UPDATES);
        if (t == null || t.shape().length != 0 || !(t.data()[0] >= 1) || t.data()[0] != Math.rint(t.data()[0])) {
            throw new IllegalArgumentException("Adam's optimizer state needs " + UPDATES + ", a whole number >= 1 of shape [], got " + t);
        }
        Map<String, float[]> m = means.match(parameters, byName);
        Map<String, float[]> v = variances.match(parameters, byName);
        means.replace(m);
        variances.replace(v);
        counts.clear();
        begin = (int) t.data()[0];
        updates = begin;
    }

    /** Builds a {@link ResumableAdam}; weight decay, gradient rescaling and clipping as DJL's builders set them. */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private float learningRate = Float.NaN;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float epsilon = 1e-8f;

        private Builder() {
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** The fixed learning rate (required). */
        public Builder setLearningRate(float learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /** Decay of the first moment (default 0.9, as DJL). */
        public Builder optBeta1(float beta1) {
            this.beta1 = beta1;
            return this;
        }

        /** Decay of the second moment (default 0.999, as DJL). */
        public Builder optBeta2(float beta2) {
            this.beta2 = beta2;
            return this;
        }

        /** Added to the denominator (default 1e-8, as DJL). */
        public Builder optEpsilon(float epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        public ResumableAdam build() {
            if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
                throw new IllegalArgumentException("the learning rate must be a finite number > 0, got " + learningRate);
            }
            return new ResumableAdam(this);
        }
    }
}
