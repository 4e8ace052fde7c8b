package io.rehearsal.models.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Group normalization (Wu and He, 2018) over {@code [N, C, H, W]}: channels are split into groups,
 * each group is normalized over its channels and pixels per sample, then scaled and shifted per
 * channel. Unlike BatchNorm it does not depend on the other samples of the batch, which matters
 * here: a view batch holds few distinct samples (R views of each).
 *
 * <p>DJL 0.36 has no GroupNorm block: this reshapes to one row per (sample, group) and runs DJL's layer
 * norm (libtorch's fused kernel, without its own affine part) over each row, then applies the
 * per-channel scale and shift; autograd handles the backward pass.
 */
public final class GroupNorm extends AbstractBlock {
    private static final byte VERSION = 1;
    private static final float EPSILON = 1e-5f;

    private final int groups;
    private final Parameter gamma;
    private final Parameter beta;

    /** A GroupNorm with {@code groups} groups; the channel count must be a multiple of it. */
    public GroupNorm(int groups) {
        super(VERSION);
        if (groups < 1) {
            throw new IllegalArgumentException("GroupNorm needs at least one group, got " + groups);
        }
        this.groups = groups;
        this.gamma = addParameter(Parameter.builder().setName("gamma").setType(Parameter.Type.GAMMA).build());
        this.beta = addParameter(Parameter.builder().setName("beta").setType(Parameter.Type.BETA).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape shape = x.getShape();
        long n = shape.get(0);
        long c = shape.get(1);
        // each (sample, group) row normalized by libtorch's fused layer_norm kernel (forward and backward
        // in one op each) instead of mean / sub / square / mean / add / sqrt / div and their backward ops
        NDArray grouped = x.reshape(n, groups, -1);
        Shape row = new Shape(grouped.getShape().get(2));
        try (NDArray ones = x.getManager().ones(row, x.getDataType(), x.getDevice());
             NDArray zeros = x.getManager().zeros(row, x.getDataType(), x.getDevice())) {
            grouped = x.getNDArrayInternal().layerNorm(grouped, row, ones, zeros, EPSILON).singletonOrThrow();
        }
        NDArray normalized = grouped.reshape(shape);
        long[] perChannel = new long[shape.dimension()];
        java.util.Arrays.fill(perChannel, 1);
        perChannel[1] = c;
        NDArray g = store.getValue(gamma, x.getDevice(), training).reshape(perChannel);
        NDArray b = store.getValue(beta, x.getDevice(), training).reshape(perChannel);
        return new NDList(normalized.mul(g).add(b));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public void prepare(Shape[] inputShapes) {
        long channels = inputShapes[0].get(1);
        if (channels % groups != 0) {
            throw new IllegalArgumentException("GroupNorm with " + groups + " groups needs a channel count that is a "
                    + "multiple of it, got " + channels + "; change the model option groups or channels");
        }
        gamma.setShape(new Shape(channels));
        beta.setShape(new Shape(channels));
    }

    @Override
    public String toString() {
        return "GroupNorm(groups=" + groups + ")";
    }
}
