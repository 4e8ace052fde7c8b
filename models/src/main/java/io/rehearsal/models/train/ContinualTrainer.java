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
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ContinualTrainer.class);
    /**
     * How many times a step is computed before its non-finite gradients are believed: a step is deterministic, so
     * gradients that are NaN once and finite when computed again were not the batch's doing (see {@link #train}).
     */
    static final int GRADIENT_ATTEMPTS = 2;
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
    private volatile long recomputedSteps; // read by metric scrapes
    private long samplesSeen;
    /**
     * Reused direct buffers for a step's input rows and its fresh rows: libtorch tensors are created on
     * them without a copy, and they are overwritten only at the next step, after the step's arrays are
     * closed. Decoding each item into its own float[] and letting DJL copy the lot into a new direct
     * buffer made 60% of the JVM's garbage per step, and its collections stretched the step times' tail.
     */
    private ByteBuffer inputBuffer = ByteBuffer.allocateDirect(0);
    private ByteBuffer freshBuffer = ByteBuffer.allocateDirect(0);

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
            m.setBlock(settings.module().isPresent() ? settings.module().get().load(spec, m.getNDManager())
                    : Networks.build(spec));
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

    /**
     * Steps whose gradients were not finite at first and finite when computed again, since this trainer started
     * (see {@link #train}).
     */
    public long recomputedSteps() {
        return recomputedSteps;
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
     * <p>Gradients that are not finite from a finite loss are computed once more first (the same random draws, so
     * the same step) and believed only if they are again: a TorchScript module's backward pass returned NaN now and
     * then in the first steps after a model was created or resumed, and finite gradients, bit-identical to those of
     * the run that never stopped, when computed again (issue 18; {@code TorchScriptResumeTest}). Such steps are
     * counted ({@link #recomputedSteps}) and logged.
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
        try (NDManager sm = model.getNDManager().newSubManager(device)) {
            TorchRuntime.seed(engine, settings.seed(), next);
            NDArray input = sm.create(exactly(inputBuffer, n * inputSize), batchShape(n), DataType.FLOAT32);
            if (rows.fresh.length > 0) {
                freshBuffer = atLeast(freshBuffer, rows.fresh.length * inputSize);
                FloatBuffer freshFloats = freshBuffer.asFloatBuffer();
                for (int f = 0; f < rows.fresh.length; f++) {
                    freshFloats.put(f * inputSize, inputFloats, rows.fresh[f] * inputSize, inputSize);
                }
                NDArray freshInput = sm.create(exactly(freshBuffer, rows.fresh.length * inputSize),
                        batchShape(rows.fresh.length), DataType.FLOAT32);
                int[] predicted = argmax(freshInput);
                for (int f = 0; f < rows.fresh.length; f++) {
                    freshCorrect += predicted[f] == rows.labels[rows.fresh[f]] ? 1 : 0;
                }
            }
            NDArray viewItems = m > 0 ? sm.create(rows.viewItem) : null;
            long[] rowLabels = rows.rowLabels();
            NDArray target = sm.create(rowLabels);
            NDArray weights = settings.classBalanced() ? sm.create(ItemRows.classBalancedWeights(rowLabels)) : null;
            for (int attempt = 1; ; attempt++) {
                if (attempt > 1) {
                    // the same random draws (augmentations, dropout) as the first attempt: the same step, computed again
                    TorchRuntime.seed(engine, settings.seed(), next);
                }
                NDArray views = augmenter.weak(input);
                if (m > 0) {
                    NDArray repeated = input.reshape(n, inputSize)
                            .gather(viewItems.reshape(m, 1).broadcast(m, inputSize), 0)
                            .reshape(batchShape(m));
                    views = NDArrays.concat(new NDList(views, augmenter.strong(repeated)), 0);
                }
                NDArray logits;
                try (GradientCollector collector = trainer.newGradientCollector()) {
                    logits = trainer.forward(new NDList(views)).singletonOrThrow();
                    ViewBatchLoss.Parts loss = ViewBatchLoss.compute(logits, target, n, viewItems, lambda, weights);
                    ce = loss.crossEntropy().getFloat();
                    kl = loss.consistency().getFloat();
                    if (!Double.isFinite(ce) || !Double.isFinite(kl)) {
                        throw nonFinite(NonFiniteStepException.LOSS, batch, sm, next, n, m, ce, kl, lambda, -1, input,
                                views, logits, rowLabels);
                    }
                    collector.backward(loss.total());
                }
                double gradientNorm = gradientNorm(sm);
                if (Double.isFinite(gradientNorm)) {
                    break;
                }
                zeroGradients();
                if (attempt == GRADIENT_ATTEMPTS) {
                    throw nonFinite(NonFiniteStepException.GRADIENT, batch, sm, next, n, m, ce, kl, lambda, gradientNorm,
                            input, views, logits, rowLabels);
                }
                recomputedSteps++;
                LOG.warn("model {}: the gradients of step {} (batch {}) were not finite from a finite loss ({}); computing "
                        + "the step again", settings.modelId(), next, batch.getBatchId(), ce + lambda * kl);
            }
            trainer.step();
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

    /**
     * Whether every weight is finite, checked element by element (a norm would overflow on finite weights of
     * 1e20 and say they are not), reduced on the device and read once.
     */
    private boolean weightsFinite(NDManager sm) {
        NDList bad = new NDList();
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            NDArray w = p.getValue().getArray();
            NDArray nan = w.isNaN();
            nan.attach(sm); // results of operations on a parameter live on the model's manager: closed with the step
            NDArray infinite = w.isInfinite();
            infinite.attach(sm);
            bad.add(nan.logicalOr(infinite).any());
        }
        return !NDArrays.stack(bad).any().getBoolean();
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
                weightsFinite(sm), StepStatistics.labelCounts(rowLabels));
        return new NonFiniteStepException(reason, settings.modelId(), batch.getBatchId(), statistics);
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
            evals.record(item.getSampleId(), label, item.getTask(), predicted[i], round, step);
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
