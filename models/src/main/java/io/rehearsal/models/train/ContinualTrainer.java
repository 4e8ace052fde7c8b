package io.rehearsal.models.train;

import io.rehearsal.models.runtime.TorchRuntime;
import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.Networks;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Trains one model on {@link TrainBatch}es, one step per batch, in the shape of an incremental
 * trainer: {@link #train} takes the next batch, updates the model this trainer owns and returns what
 * the step did.
 *
 * <p>A step expands each item into its R views on the device (view 0 weakly augmented: the anchor;
 * views 1..R-1 strongly augmented, see {@link ViewAugmenter}), predicts the FRESH items first
 * (prequential, test-then-train), then minimizes {@link ViewBatchLoss}: cross-entropy over all views
 * plus lambda times KL(anchor || view), lambda following {@link LambdaSchedule}.
 *
 * <p>Reproducible: initialization is seeded with the settings' seed, and each step re-seeds PyTorch
 * from (seed, step), so the same batches give the same weights; a trainer resumed at step s draws
 * the same augmentations for step s + 1 as one that never stopped. With the weights ({@link
 * #loadParameters}) and the optimizer state ({@link #loadOptimizerState}: momentum, Adam's moments) of
 * step s, a resumed trainer is bit-identical with an uninterrupted one (tested).
 *
 * <p>Resources: the trainer owns a DJL {@link Model} and {@link Trainer} (closed by {@link #close},
 * trainer first); every step and prediction works in its own sub-manager closed in
 * try-with-resources, so native memory stays flat. Not thread-safe; PyTorch's random generator is
 * process-wide, so run one trainer per process (or one at a time) when determinism matters.
 */
public final class ContinualTrainer implements AutoCloseable {
    private final TrainerSettings settings;
    private final ModelSpec spec;
    private final Engine engine;
    private final Device device;
    private final Model model;
    private final Trainer trainer;
    private final ViewAugmenter augmenter;
    private final ResumableOptimizer optimizer;
    private final EvalTracker evals = new EvalTracker();
    private long step;
    private long samplesSeen;
    /**
     * Reused direct buffers for a step's input rows and its fresh rows: libtorch tensors are created on
     * them without a copy, and they are overwritten only at the next step, after the step's arrays are
     * closed. Decoding each item into its own float[] and letting DJL copy the lot into a new direct
     * buffer made 60% of the JVM's garbage per step, and its collections stretched the step times' tail.
     */
    private ByteBuffer inputBuffer = ByteBuffer.allocateDirect(0);
    private ByteBuffer freshBuffer = ByteBuffer.allocateDirect(0);
    private final StepDiag diag = new StepDiag();

    /** A freshly initialized model on the GPU if DJL sees one, else the CPU. */
    public ContinualTrainer(TrainerSettings settings) {
        this(settings, null);
    }

    /** A freshly initialized model on {@code device} (null: GPU if DJL sees one, else CPU). */
    public ContinualTrainer(TrainerSettings settings, Device device) {
        this.settings = settings;
        this.spec = settings.spec();
        this.engine = TorchRuntime.engine(settings.threads(), settings.interopThreads());
        this.device = device == null ? TorchRuntime.device(engine) : device;
        this.augmenter = new ViewAugmenter(spec, settings.augment());
        TorchRuntime.seed(engine, settings.seed(), 0);
        Optimizer opt = optimizer(settings);
        this.optimizer = (ResumableOptimizer) opt;
        Model m = Model.newInstance(settings.modelId(), this.device, TorchRuntime.ENGINE);
        Trainer t = null;
        try {
            m.setBlock(Networks.build(spec));
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(opt)
                    .optDevices(new Device[] {this.device});
            t = m.newTrainer(config);
            t.initialize(batchShape(1));
        } catch (RuntimeException e) {
            if (t != null) {
                t.close();
            }
            m.close();
            throw e;
        }
        this.model = m;
        this.trainer = t;
    }

    /** DJL's SGD and Adam updates, in optimizers whose state can be saved and restored. */
    private static Optimizer optimizer(TrainerSettings s) {
        return switch (s.optimizer()) {
            case SGD -> MomentumSgd.builder().setLearningRate(s.learningRate()).optMomentum(s.momentum())
                    .optWeightDecays(s.weightDecay()).build();
            case ADAM -> ResumableAdam.builder().setLearningRate(s.learningRate()).optWeightDecays(s.weightDecay()).build();
        };
    }

    public TrainerSettings settings() {
        return settings;
    }

    public ModelSpec spec() {
        return spec;
    }

    /** The device the model lives on, e.g. {@code cpu()} or {@code gpu(0)}. */
    public Device device() {
        return device;
    }

    /** Training steps taken since the model was created (including those before a resume). */
    public long step() {
        return step;
    }

    /** Views trained on since the model was created. */
    public long samplesSeen() {
        return samplesSeen;
    }

    /** Latest held-out results. */
    public EvalTracker evals() {
        return evals;
    }

    /** Continues counting from a loaded snapshot's step and samples. */
    public void resumeAt(long step, long samplesSeen) {
        if (step < 0 || samplesSeen < 0) {
            throw new IllegalArgumentException("cannot resume at step " + step + " with " + samplesSeen + " samples");
        }
        this.step = step;
        this.samplesSeen = samplesSeen;
    }

    /**
     * One training step on a TRAIN batch.
     *
     * <p>Guarded: a step whose loss (checked before the backward pass) or global gradient norm (checked
     * before the optimizer step) is NaN or infinite is not applied. It throws {@link NonFiniteStepException}
     * with what the step saw, leaving the weights, the optimizer state and the step count as they were, so
     * that training goes on with the next batch; the same weights and batch skip it again (deterministic).
     *
     * @throws InvalidBatchException if the batch cannot be trained on, or its step was not finite
     *                               ({@link NonFiniteStepException}); the model is then unchanged
     */
    public StepResult train(TrainBatch batch) {
        if (batch.getKind() != BatchKind.TRAIN) {
            throw new InvalidBatchException("WRONG_KIND", "batch " + batch.getBatchId() + " is " + batch.getKind()
                    + "; give EVAL batches to evaluate(), not train()");
        }
        checkModel(batch);
        List<TrainItem> items = batch.getItems();
        if (items.isEmpty()) {
            throw new InvalidBatchException("EMPTY_BATCH", "batch " + batch.getBatchId() + " has no items");
        }
        long started = System.nanoTime();
        int inputSize = spec.inputSize();
        inputBuffer = atLeast(inputBuffer, items.size() * inputSize);
        FloatBuffer inputFloats = inputBuffer.asFloatBuffer();
        ItemRows rows = ItemRows.of(items, spec, settings.modelId(), batch.getBatchId(), inputFloats);
        int n = rows.count;
        int m = rows.viewItem.length;
        long next = step + 1;
        float lambda = settings.lambda().at(next);
        int freshCorrect = 0;
        double ce;
        double kl;
        String stats = null;
        try (NDManager sm = model.getNDManager().newSubManager(device)) {
            TorchRuntime.seed(engine, settings.seed(), next);
            NDArray input = StepDiag.COPY_INPUT
                    ? sm.create(copyOf(inputBuffer, n * inputSize), batchShape(n))
                    : sm.create(exactly(inputBuffer, n * inputSize), batchShape(n), DataType.FLOAT32);
            if (rows.fresh.length > 0) {
                freshBuffer = atLeast(freshBuffer, rows.fresh.length * inputSize);
                FloatBuffer freshFloats = freshBuffer.asFloatBuffer();
                for (int f = 0; f < rows.fresh.length; f++) {
                    freshFloats.put(f * inputSize, inputFloats, rows.fresh[f] * inputSize, inputSize);
                }
                NDArray freshInput = StepDiag.COPY_INPUT
                        ? sm.create(copyOf(freshBuffer, rows.fresh.length * inputSize), batchShape(rows.fresh.length))
                        : sm.create(exactly(freshBuffer, rows.fresh.length * inputSize),
                        batchShape(rows.fresh.length), DataType.FLOAT32);
                int[] predicted = argmax(freshInput);
                for (int f = 0; f < rows.fresh.length; f++) {
                    freshCorrect += predicted[f] == rows.labels[rows.fresh[f]] ? 1 : 0;
                }
            }
            NDArray views = augmenter.weak(input);
            NDArray viewItems = null;
            if (m > 0) {
                viewItems = StepDiag.KEEP_LONGS ? keepLongs(sm, rows.viewItem) : sm.create(rows.viewItem);
                NDArray repeated = input.reshape(n, inputSize)
                        .gather(viewItems.reshape(m, 1).broadcast(m, inputSize), 0)
                        .reshape(batchShape(m));
                views = NDArrays.concat(new NDList(views, augmenter.strong(repeated)), 0);
            }
            long[] rowLabels = rows.rowLabels();
            NDArray target = StepDiag.KEEP_LONGS ? keepLongs(sm, rowLabels) : sm.create(rowLabels);
            NDArray weights = settings.classBalanced() ? sm.create(ItemRows.classBalancedWeights(rowLabels)) : null;
            NDArray logits;
            double preGradientNorm = StepDiag.ON ? gradientNorm(sm) : 0;
            try (GradientCollector collector = trainer.newGradientCollector()) {
                logits = trainer.forward(new NDList(views)).singletonOrThrow();
                ViewBatchLoss.Parts loss = ViewBatchLoss.compute(logits, target, n, viewItems, lambda, weights);
                ce = loss.crossEntropy().getFloat();
                kl = loss.consistency().getFloat();
                if (StepDiag.ON) {
                    stats = String.format("step %d batch %s n %d m %d input [%g, %g] views [%g, %g] maxAbsLogit %g ce %g kl %g",
                            next, batch.getBatchId(), n, m, input.min().getFloat(), input.max().getFloat(),
                            views.min().getFloat(), views.max().getFloat(), logits.abs().max().getFloat(), ce, kl);
                }
                if (StepDiag.ON && (!Double.isFinite(ce) || !Double.isFinite(kl))) {
                    diagnose(batch, stats, input, n, inputSize, lambda, rows);
                }
                if (!Double.isFinite(ce) || !Double.isFinite(kl)) {
                    throw nonFinite(NonFiniteStepException.LOSS, batch, sm, next, n, m, ce, kl, lambda, -1, input, views,
                            logits, rowLabels);
                }
                collector.backward(loss.total());
            }
            double gradientNorm = gradientNorm(sm);
            if (StepDiag.ON) {
                stats += String.format(" preGradNorm %g gradNorm %g weightNormBefore %g", preGradientNorm, gradientNorm,
                        weightNorm(sm));
                if (preGradientNorm != 0 || !(gradientNorm < 1000)) {
                    diagnoseGradients(batch, stats, sm, views, target, n, viewItems, lambda, weights);
                }
            }
            if (!Double.isFinite(gradientNorm)) {
                zeroGradients();
                throw nonFinite(NonFiniteStepException.GRADIENT, batch, sm, next, n, m, ce, kl, lambda, gradientNorm, input,
                        views, logits, rowLabels);
            }
            trainer.step();
            if (StepDiag.ON) {
                diag.add(stats + String.format(" weightNormAfter %g", weightNorm(sm)));
            }
        }
        step = next;
        samplesSeen += n + m;
        return new StepResult(next, n, n + m, rows.fresh.length, freshCorrect, ce, kl, lambda, ce + lambda * kl,
                System.nanoTime() - started);
    }

    /**
     * The global L2 norm of all parameter gradients, reduced on the device and read once (one
     * synchronization per step): NaN or infinite if any gradient is, or if their squares overflow float32.
     */
    private double gradientNorm(NDManager sm) {
        NDList norms = new NDList();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray w = p.getValue().getArray();
            if (w.hasGradient()) {
                NDArray g = w.getGradient();
                g.attach(sm); // the handle only: closed with the step, the parameter keeps its gradient
                norms.add(g.norm());
            }
        }
        return norms.isEmpty() ? 0 : NDArrays.stack(norms).norm().getFloat();
    }

    /** The global L2 norm of all weights (NaN or infinite if any weight is). */
    private double weightNorm(NDManager sm) {
        NDList norms = new NDList();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray w = p.getValue().getArray();
            NDArray norm = w.norm();
            norm.attach(sm);
            norms.add(norm);
        }
        return NDArrays.stack(norms).norm().getFloat();
    }

    /**
     * Zeroes every parameter's gradient (what the optimizer's update does after applying it), so that a
     * skipped step leaves nothing behind for the next one to accumulate onto. Through libtorch, since
     * {@code zero_} is the one way to clear a gradient that holds NaN ({@code g - g} is NaN again).
     */
    private void zeroGradients() {
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray w = p.getValue().getArray();
            if (w.hasGradient()) {
                JniUtils.zeroGrad((PtNDArray) w);
            }
        }
    }

    private NonFiniteStepException nonFinite(String reason, TrainBatch batch, NDManager sm, long next, int n, int m,
                                             double ce, double kl, float lambda, double gradientNorm, NDArray input,
                                             NDArray views, NDArray logits, long[] rowLabels) {
        StepStatistics statistics = new StepStatistics(next, n, n + m, ce, kl, lambda, gradientNorm,
                input.abs().max().getFloat(), views.abs().max().getFloat(), logits.abs().max().getFloat(),
                Double.isFinite(weightNorm(sm)), StepStatistics.labelCounts(rowLabels));
        return new NonFiniteStepException(reason, settings.modelId(), batch.getBatchId(), statistics);
    }

    /** DIAG: per-parameter gradients, then the same forward and backward again on the same views. */
    private void diagnoseGradients(TrainBatch batch, String stats, NDManager sm, NDArray views, NDArray target, int n,
                                   NDArray viewItems, float lambda, NDArray weights) {
        StringBuilder out = new StringBuilder("GRADIENTS ").append(stats).append('\n');
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray w = p.getValue().getArray();
            NDArray g = w.getGradient();
            g.attach(sm);
            float[] gv = g.toFloatArray();
            float[] wv = w.toFloatArray();
            int bad = 0;
            int first = -1;
            double max = 0;
            for (int i = 0; i < gv.length; i++) {
                if (!Float.isFinite(gv[i])) {
                    bad++;
                    first = first < 0 ? i : first;
                } else {
                    max = Math.max(max, Math.abs(gv[i]));
                }
            }
            int badW = 0;
            for (float v : wv) {
                badW += Float.isFinite(v) ? 0 : 1;
            }
            out.append(String.format("param %s %s: grad non-finite %d (first at %d, value %s), max finite |grad| %g; "
                            + "weights non-finite %d; grad data %x weight data %x%n", p.getKey(), w.getShape(), bad, first,
                    first < 0 ? "-" : Float.toString(gv[first]), max, badW, 0, 0));
        }
        // the same step again: zero the gradients, same seed, same views
        zeroGradients();
        try (GradientCollector collector = trainer.newGradientCollector()) {
            NDArray logits = trainer.forward(new NDList(views)).singletonOrThrow();
            ViewBatchLoss.Parts loss = ViewBatchLoss.compute(logits, target, n, viewItems, lambda, weights);
            out.append(String.format("again: ce %g kl %g maxAbsLogit %g%n", loss.crossEntropy().getFloat(),
                    loss.consistency().getFloat(), logits.abs().max().getFloat()));
            collector.backward(loss.total());
        }
        out.append(String.format("again: gradNorm %g%n", gradientNorm(sm)));
        out.append("history:\n").append(diag.history()).append('\n');
        String tag = "grad-step-" + (step + 1) + "-" + System.nanoTime();
        StepDiag.write(tag + ".txt", out.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        System.err.println("DIAG written " + tag + "\n" + out);
    }

    private void diagnose(TrainBatch batch, String stats, NDArray input, int n, int inputSize, float lambda, ItemRows rows) {
        StringBuilder out = new StringBuilder();
        out.append("FAILING ").append(stats).append('\n');
        double w = 0;
        for (var p : model.getBlock().getParameters()) {
            NDArray a = p.getValue().getArray();
            double s2 = a.square().sum().getFloat();
            out.append(String.format("param %s sumsq %g finite %s%n", p.getKey(), s2, Double.isFinite(s2)));
            w += s2;
        }
        out.append("weights sumsq ").append(w).append('\n');
        ItemRows fresh = ItemRows.of(batch.getItems(), spec, settings.modelId(), batch.getBatchId());
        float[] buf = new float[n * inputSize];
        exactly(inputBuffer, n * inputSize).asFloatBuffer().get(buf);
        float[] tensor = input.toFloatArray();
        int mismatchBuf = 0;
        int mismatchTensor = 0;
        int nonFiniteFresh = 0;
        int nonFiniteBuf = 0;
        int nonFiniteTensor = 0;
        float maxAbsFresh = 0;
        float maxAbsBuf = 0;
        for (int i = 0; i < buf.length; i++) {
            mismatchBuf += Float.floatToRawIntBits(buf[i]) != Float.floatToRawIntBits(fresh.features[i]) ? 1 : 0;
            mismatchTensor += Float.floatToRawIntBits(tensor[i]) != Float.floatToRawIntBits(fresh.features[i]) ? 1 : 0;
            nonFiniteFresh += Float.isFinite(fresh.features[i]) ? 0 : 1;
            nonFiniteBuf += Float.isFinite(buf[i]) ? 0 : 1;
            nonFiniteTensor += Float.isFinite(tensor[i]) ? 0 : 1;
            maxAbsFresh = Math.max(maxAbsFresh, Math.abs(fresh.features[i]));
            maxAbsBuf = Math.max(maxAbsBuf, Math.abs(buf[i]));
        }
        out.append(String.format("fresh decode vs buffer: %d mismatches, vs tensor: %d; non-finite fresh %d buffer %d tensor %d;"
                + " max|x| fresh %g buffer %g; labels %s%n", mismatchBuf, mismatchTensor, nonFiniteFresh, nonFiniteBuf,
                nonFiniteTensor, maxAbsFresh, maxAbsBuf, java.util.Arrays.toString(fresh.labels)));
        try (NDManager sm = model.getNDManager().newSubManager(device)) {
            NDArray x = sm.create(FloatBuffer.wrap(fresh.features), batchShape(n));
            NDArray logits = trainer.evaluate(new NDList(x)).singletonOrThrow();
            out.append(String.format("plain forward on fresh decode: max|logit| %g%n", logits.abs().max().getFloat()));
            NDArray logits2 = trainer.evaluate(new NDList(input)).singletonOrThrow();
            out.append(String.format("plain forward on the step's input tensor: max|logit| %g%n", logits2.abs().max().getFloat()));
        }
        out.append("history:\n").append(diag.history()).append('\n');
        String tag = "step-" + (step + 1) + "-" + System.nanoTime();
        StepDiag.write(tag + ".txt", out.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        try {
            java.nio.ByteBuffer b = batch.toByteBuffer();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            StepDiag.write(tag + ".batch.avro", bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        StepDiag.write(tag + ".params.npz", io.rehearsal.models.snapshot.SnapshotCodec.encodeParameters(parameters()));
        List<NamedTensor> st = optimizerState();
        if (!st.isEmpty()) {
            StepDiag.write(tag + ".optimizer.npz", io.rehearsal.models.snapshot.SnapshotCodec.encodeParameters(st));
        }
        System.err.println("DIAG written " + tag + "\n" + out);
    }

    /** Predicts an EVAL batch (no gradient) and records each sample's latest result. */
    public EvalResult evaluate(TrainBatch batch) {
        checkModel(batch);
        long round = batch.getEvalRound() == null ? batch.getSequence() : batch.getEvalRound();
        return evaluate(batch.getItems(), round, batch.getBatchId());
    }

    /** Predicts held-out items (no gradient) and records each one's latest result under {@code round}. */
    public EvalResult evaluate(List<TrainItem> items, long round, String source) {
        if (items.isEmpty()) {
            return new EvalResult(0, 0);
        }
        ItemRows rows = ItemRows.of(items, spec, settings.modelId(), source);
        int[] predicted;
        try (NDManager sm = model.getNDManager().newSubManager(device)) {
            predicted = argmax(sm, rows.features, rows.count);
        }
        int correct = 0;
        for (int i = 0; i < items.size(); i++) {
            TrainItem item = items.get(i);
            int label = (int) rows.labels[i];
            correct += predicted[i] == label ? 1 : 0;
            evals.record(item.getSampleId(), label, item.getTask(), predicted[i], round);
        }
        return new EvalResult(items.size(), correct);
    }

    /** What one evaluation did. */
    public record EvalResult(int items, int correct) {
    }

    /** Class probabilities for each input (rows of {@code spec.inputSize()} floats). */
    public float[][] probabilities(List<float[]> inputs) {
        if (inputs.isEmpty()) {
            return new float[0][];
        }
        int size = spec.inputSize();
        float[] x = new float[inputs.size() * size];
        for (int i = 0; i < inputs.size(); i++) {
            float[] row = inputs.get(i);
            if (row.length != size) {
                throw new IllegalArgumentException("input " + i + " has " + row.length + " features but model "
                        + settings.modelId() + " takes " + size + " (" + spec.inputShape() + "); check the producer's shape");
            }
            System.arraycopy(row, 0, x, i * size, size);
        }
        try (NDManager sm = model.getNDManager().newSubManager(device)) {
            NDArray logits = trainer.evaluate(new NDList(sm.create(FloatBuffer.wrap(x), batchShape(inputs.size()))))
                    .singletonOrThrow();
            float[] flat = logits.softmax(1).toFloatArray();
            int k = spec.numClasses();
            float[][] out = new float[inputs.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = Arrays.copyOfRange(flat, i * k, (i + 1) * k);
            }
            return out;
        }
    }

    /** The most likely class of each input. */
    public int[] predict(List<float[]> inputs) {
        float[][] p = probabilities(inputs);
        int[] out = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            int best = 0;
            for (int k = 1; k < p[i].length; k++) {
                best = p[i][k] > p[i][best] ? k : best;
            }
            out[i] = best;
        }
        return out;
    }

    /** The model's parameters in network order, copied to the heap. */
    public List<NamedTensor> parameters() {
        return Networks.parameters(model.getBlock());
    }

    /**
     * Replaces the model's parameters with {@code tensors} (matched by name; every parameter must be
     * present with its exact shape).
     */
    public void loadParameters(List<NamedTensor> tensors) {
        Networks.loadParameters(model.getBlock(), tensors, "model " + settings.modelId() + " (" + spec + ")");
    }

    /**
     * The optimizer's state (SGD momentum buffers; Adam's moments and update count), copied to the heap;
     * empty when it keeps none (SGD without momentum, or before the first step).
     */
    public List<NamedTensor> optimizerState() {
        return optimizer.exportState(model.getBlock().getParameters());
    }

    /**
     * Replaces the optimizer's state with one {@link #optimizerState} returned (e.g. from the snapshot the
     * weights came from), so training continues exactly as it would have in the trainer that saved it.
     *
     * @throws IllegalArgumentException if the state was saved by another optimizer or architecture;
     *                                  nothing is changed then
     */
    public void loadOptimizerState(List<NamedTensor> state) {
        optimizer.importState(model.getBlock().getParameters(), state);
    }

    @Override
    public void close() {
        try {
            trainer.close();
        } finally {
            model.close();
        }
    }

    private int[] argmax(NDManager sm, float[] x, int rows) {
        return argmax(sm.create(FloatBuffer.wrap(x), batchShape(rows)));
    }

    private int[] argmax(NDArray input) {
        NDArray logits = trainer.evaluate(new NDList(input)).singletonOrThrow();
        long[] best = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
        int[] out = new int[best.length];
        for (int i = 0; i < best.length; i++) {
            out[i] = (int) best[i];
        }
        return out;
    }

    /** {@code buffer} if it holds {@code floats} floats, else a new direct buffer that does; native order, position 0. */
    private static ByteBuffer atLeast(ByteBuffer buffer, int floats) {
        ByteBuffer b = buffer.capacity() >= floats * Float.BYTES ? buffer
                : ByteBuffer.allocateDirect(Math.max(floats * Float.BYTES, buffer.capacity() * 3 / 2));
        b.clear();
        return b.order(ByteOrder.nativeOrder());
    }

    private final java.util.ArrayDeque<ByteBuffer> kept = new java.util.ArrayDeque<>();

    /** DIAG: a long tensor over a direct buffer this trainer keeps for 64 steps more (not DJL's own copy). */
    private NDArray keepLongs(NDManager sm, long[] values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * Long.BYTES).order(ByteOrder.nativeOrder());
        b.asLongBuffer().put(values);
        kept.addLast(b);
        if (kept.size() > 128) {
            kept.removeFirst();
        }
        return sm.create(b, new Shape(values.length), DataType.INT64);
    }

    /** DIAG: the first floats of a direct buffer, copied to the heap. */
    private static FloatBuffer copyOf(ByteBuffer buffer, int floats) {
        float[] out = new float[floats];
        exactly(buffer, floats).asFloatBuffer().get(out);
        return FloatBuffer.wrap(out);
    }

    /** A view of the first {@code floats} floats of a direct buffer (position 0, exact limit), for a tensor. */
    private static ByteBuffer exactly(ByteBuffer buffer, int floats) {
        ByteBuffer view = buffer.duplicate().order(ByteOrder.nativeOrder());
        view.clear().limit(floats * Float.BYTES);
        return view;
    }

    private Shape batchShape(long rows) {
        long[] input = spec.inputShapeArray();
        long[] dims = new long[input.length + 1];
        dims[0] = rows;
        System.arraycopy(input, 0, dims, 1, input.length);
        return new Shape(dims);
    }

    private void checkModel(TrainBatch batch) {
        if (!settings.modelId().equals(batch.getModelId())) {
            throw new InvalidBatchException("WRONG_MODEL", "batch " + batch.getBatchId() + " is for model "
                    + batch.getModelId() + " but this trainer trains " + settings.modelId());
        }
    }
}
