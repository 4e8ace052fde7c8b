package io.rehearsal.models.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.util.Pair;
import io.rehearsal.models.runtime.NamedTensor;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

    /** The parameters of an initialized block, in network order, copied to the heap. */
    public static List<NamedTensor> parameters(Block block) {
        List<NamedTensor> out = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray array = p.getValue().getArray();
            out.add(new NamedTensor(p.getKey(), array.getShape().getShape(), array.toFloatArray()));
        }
        return out;
    }

    /**
     * Replaces the parameters of an initialized block with {@code tensors}, matched by name; every
     * parameter must be present with its exact shape, and no other tensor may be given. Nothing is
     * changed unless all match.
     *
     * @param what names the model in messages, e.g. {@code "model fashion (mlp[784]->10)"}
     * @throws IllegalArgumentException if the tensors were saved from another architecture
     */
    public static void loadParameters(Block block, List<NamedTensor> tensors, String what) {
        Map<String, NamedTensor> byName = new HashMap<>();
        tensors.forEach(t -> byName.put(t.name(), t));
        List<Pair<String, Parameter>> params = block.getParameters().stream().toList();
        for (Pair<String, Parameter> p : params) {
            NamedTensor t = byName.get(p.getKey());
            long[] expected = p.getValue().getArray().getShape().getShape();
            if (t == null) {
                throw new IllegalArgumentException("parameters lack " + p.getKey() + " " + Arrays.toString(expected)
                        + " of " + what + "; they were saved from another architecture");
            }
            if (!Arrays.equals(expected, t.shape())) {
                throw new IllegalArgumentException("parameter " + p.getKey() + " has shape " + Arrays.toString(t.shape())
                        + " but " + what + " needs " + Arrays.toString(expected));
            }
        }
        if (byName.size() != params.size()) {
            throw new IllegalArgumentException("parameters hold " + byName.size() + " tensors but " + what + " has "
                    + params.size() + "; they were saved from another architecture");
        }
        for (Pair<String, Parameter> p : params) {
            p.getValue().getArray().set(FloatBuffer.wrap(byName.get(p.getKey()).data()));
        }
    }
}
