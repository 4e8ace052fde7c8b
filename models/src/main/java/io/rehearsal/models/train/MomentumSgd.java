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

/**
 * SGD with momentum whose momentum buffers can be exported and imported ({@link ResumableOptimizer}).
 *
 * <p>The update is DJL 0.36's {@code Sgd} with a fixed learning rate, through the same engine kernel
 * ({@code NDArrayEx.sgdUpdate}), so the weights are bit-identical to it (tested):
 * {@code g = clip(rescaleGrad * grad, clipGrad) + weightDecay * w; state = momentum * state + lr * g;
 * w -= state} ({@code w -= lr * g} without momentum). The buffer of a parameter starts at zero at its
 * first update, as in DJL. State: one slot, {@code momentum/<parameter>}; none when momentum is 0.
 */
public final class MomentumSgd extends Optimizer implements ResumableOptimizer {
    private final float learningRate;
    private final float momentum;
    private final StateSlot momentumState = new StateSlot("momentum");

    private MomentumSgd(Builder builder) {
        super(builder);
        this.learningRate = builder.learningRate;
        this.momentum = builder.momentum;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        NDList inputs = momentum != 0f
                ? new NDList(weight, grad, momentumState.get(parameterId, weight))
                : new NDList(weight, grad);
        weight.getNDArrayInternal().sgdUpdate(inputs, new NDList(weight), learningRate, getWeightDecay(), rescaleGrad,
                clipGrad, momentum, true);
    }

    @Override
    public List<NamedTensor> exportState(ParameterList parameters) {
        List<NamedTensor> out = new ArrayList<>();
        momentumState.exportTo(parameters, out);
        return out;
    }

    @Override
    public void importState(ParameterList parameters, List<NamedTensor> state) {
        Map<String, NamedTensor> byName = OptimizerStates.byName(state);
        Set<String> known = new HashSet<>();
        if (momentum != 0f) {
            momentumState.namesFor(parameters, known);
        }
        OptimizerStates.requireKnown(byName, known, "SGD with momentum " + momentum);
        momentumState.replace(momentumState.match(parameters, byName));
    }

    /** Builds a {@link MomentumSgd}; weight decay, gradient rescaling and clipping as DJL's builders set them. */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private float learningRate = Float.NaN;
        private float momentum;

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

        /** Momentum in [0, 1); 0 (the default) is plain SGD, which keeps no state. */
        public Builder optMomentum(float momentum) {
            this.momentum = momentum;
            return this;
        }

        public MomentumSgd build() {
            if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
                throw new IllegalArgumentException("the learning rate must be a finite number > 0, got " + learningRate);
            }
            if (!(momentum >= 0 && momentum < 1)) {
                throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
            }
            return new MomentumSgd(this);
        }
    }
}
