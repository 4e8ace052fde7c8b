package io.rehearsal.models.subscribe;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.Networks;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.runtime.TorchRuntime;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One fully loaded, verified model version: a DJL {@link Model} with its weights, reference counted.
 *
 * <p>The subscriber holds one reference while the version is current; each prediction takes another
 * for its duration ({@link #retain}/{@link #release}). Retiring a version drops the subscriber's
 * reference, and whoever drops the last one closes the native model, so a prediction in flight
 * always finishes on the weights it started with and no one ever reads a closed model. A version is
 * warmed up by one prediction before it is served, so the first request does not pay for the native set-up.
 */
final class ServedModel {
    private final Model model;
    private final Block block;
    private final ModelInfo info;
    private final long[] inputShape;
    private final int inputSize;
    private final AtomicInteger references = new AtomicInteger(1);
    private final Runnable onClose;

    private ServedModel(Model model, Block block, ModelInfo info, Runnable onClose) {
        this.model = model;
        this.block = block;
        this.info = info;
        this.inputShape = info.spec().inputShapeArray();
        this.inputSize = info.spec().inputSize();
        this.onClose = onClose;
    }

    /**
     * Builds the network of {@code info.spec()} on {@code device} (a user's TorchScript {@code module} when the spec
     * names one) and loads {@code tensors} into it.
     *
     * @param onClose runs once, after the native model is closed
     * @throws IllegalArgumentException if the tensors do not fit the network
     */
    static ServedModel load(ModelInfo info, List<NamedTensor> tensors, Optional<TorchScriptModule> module, Device device,
                            Runnable onClose) {
        ModelSpec spec = info.spec();
        Model model = Model.newInstance(info.modelId() + "-v" + info.version(), device, TorchRuntime.ENGINE);
        try {
            Block block;
            if (spec.isTorchScript()) {
                // loaded trainable (DJL 0.36 loads a frozen module's parameters as inference tensors, which the
                // weights below cannot be copied into), then frozen: no autograd graph per prediction. Loading draws
                // nothing from PyTorch's generator.
                block = module.orElseThrow(() -> new IllegalArgumentException("the TorchScript module of " + spec
                        + " is missing")).load(spec, model.getNDManager());
                model.setBlock(block);
                block.freezeParameters(true);
            } else {
                block = Networks.build(spec);
                // zeros, not random: loading must not draw from PyTorch's process-wide generator, which a
                // trainer in the same process seeds for reproducible steps
                block.setInitializer(Initializer.ZEROS, p -> true);
                model.setBlock(block);
                block.initialize(model.getNDManager(), DataType.FLOAT32, shape(spec.inputShapeArray(), 1));
                block.freezeParameters(true); // inference only: no autograd graph per prediction
            }
            Networks.loadParameters(block, tensors, "model " + info.modelId() + " version " + info.version()
                    + " (" + spec + ")");
            ServedModel served = new ServedModel(model, block, info, onClose);
            // one prediction before it is served: the first forward pass of a freshly loaded model is the slow
            // one (native set-up), and the first request after /ready said yes should not be the one to pay it
            served.predict(List.of(new float[served.inputSize]), 1);
            return served;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    ModelInfo info() {
        return info;
    }

    /** Takes a reference for one prediction; false if the model was already retired and closed. */
    boolean retain() {
        while (true) {
            int n = references.get();
            if (n == 0) {
                return false;
            }
            if (references.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one closes the native model. */
    void release() {
        int n = references.decrementAndGet();
        if (n == 0) {
            try {
                model.close();
            } finally {
                onClose.run();
            }
        } else if (n < 0) {
            throw new IllegalStateException("model " + info + " was released more often than retained");
        }
    }

    /**
     * Predicts every input (each {@code inputSize} floats, any shape with that many elements) in one
     * forward pass.
     *
     * @throws IllegalArgumentException naming the first input whose size does not fit
     */
    List<ModelPrediction> predict(List<float[]> inputs, int topK) {
        if (inputs.isEmpty()) {
            return List.of();
        }
        float[] x = new float[inputs.size() * inputSize];
        for (int i = 0; i < inputs.size(); i++) {
            float[] row = inputs.get(i);
            if (row.length != inputSize) {
                throw new IllegalArgumentException(String.format("input %d has %d features but model %s version %d "
                                + "takes %d (shape %s); check the producer's shape", i, row.length, info.modelId(),
                        info.version(), inputSize, info.spec().inputShape()));
            }
            System.arraycopy(row, 0, x, i * inputSize, inputSize);
        }
        float[] flat;
        try (NDManager scope = model.getNDManager().newSubManager()) {
            NDArray input = scope.create(FloatBuffer.wrap(x), shape(inputShape, inputs.size()));
            NDArray logits = block.forward(new ParameterStore(scope, false), new NDList(input), false).singletonOrThrow();
            flat = logits.softmax(1).toFloatArray();
        }
        int k = info.spec().numClasses();
        List<ModelPrediction> out = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            out.add(ModelPrediction.of(Arrays.copyOfRange(flat, i * k, (i + 1) * k), topK, info.version()));
        }
        return out;
    }

    /** Number of input elements one sample must have. */
    int inputSize() {
        return inputSize;
    }

    private static Shape shape(long[] input, long rows) {
        long[] dims = new long[input.length + 1];
        dims[0] = rows;
        System.arraycopy(input, 0, dims, 1, input.length);
        return new Shape(dims);
    }
}
