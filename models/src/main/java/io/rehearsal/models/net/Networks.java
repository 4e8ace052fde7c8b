package io.rehearsal.models.net;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.pooling.Pool;

/**
 * Builds the DJL block a {@link ModelSpec} names. Both end in one linear head over all classes and
 * output logits; neither uses BatchNorm (a view batch holds R views of few distinct samples, which
 * skews batch statistics).
 *
 * <ul>
 *   <li>{@code mlp}: flatten, then per hidden width {@code Linear -> LayerNorm -> ReLU}, then the
 *       head.</li>
 *   <li>{@code cnn}: reshape to the image, then per conv width {@code Conv3x3 -> GroupNorm -> ReLU ->
 *       MaxPool2}, flatten, {@code Linear(dense) -> LayerNorm -> ReLU}, head.</li>
 * </ul>
 */
public final class Networks {
    private Networks() {
    }

    /** A fresh, uninitialized block for the spec. */
    public static Block build(ModelSpec spec) {
        return switch (spec.name()) {
            case ModelSpec.MLP -> mlp(spec);
            case ModelSpec.CNN -> cnn(spec);
            default -> throw new IllegalArgumentException("unknown architecture " + spec.name());
        };
    }

    private static Block mlp(ModelSpec spec) {
        SequentialBlock net = new SequentialBlock().add(Blocks.batchFlattenBlock());
        for (int width : spec.hidden()) {
            net.add(Linear.builder().setUnits(width).build())
                    .add(LayerNorm.builder().build())
                    .add(Activation.reluBlock());
        }
        return net.add(Linear.builder().setUnits(spec.numClasses()).build());
    }

    private static Block cnn(ModelSpec spec) {
        int[] image = spec.imageShape().orElseThrow();
        SequentialBlock net = new SequentialBlock()
                .add(x -> new ai.djl.ndarray.NDList(x.singletonOrThrow().reshape(-1, image[0], image[1], image[2])));
        for (int width : spec.channels()) {
            net.add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(width).build())
                    .add(new GroupNorm(Math.min(spec.groups(), width)))
                    .add(Activation.reluBlock())
                    .add(Pool.maxPool2dBlock(new Shape(2, 2)));
        }
        return net.add(Blocks.batchFlattenBlock())
                .add(Linear.builder().setUnits(spec.denseUnits()).build())
                .add(LayerNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(spec.numClasses()).build());
    }
}
