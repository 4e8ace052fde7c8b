package io.rehearsal.bench;

import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.experiment.ExperimentSpec;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The configurations the continual-learning benchmark compares, all at the <b>same compute</b>: every
 * step trains B sample views and takes F fresh samples, so every configuration runs the same number of
 * steps over the same stream; and every fresh sample gets the same V views in total while it is
 * short-term ("do your best"), so K_short = V / R - 1. What differs is how those views are spent:
 *
 * <ul>
 *   <li>{@code finetune}: no long-term buffer (M = 0), R = 1 — the model only ever revisits recent samples;</li>
 *   <li>{@code er}: experience replay, R = 1, fixed interval (g = 1);</li>
 *   <li>{@code vb2}, {@code vb4}: view-batch replay, R = 2 or 4 views per recall, g = 1 (the paper's fixed,
 *       R-fold longer interval);</li>
 *   <li>{@code vb4-spaced}: R = 4 with growing intervals, g = 2;</li>
 *   <li>{@code +ssl}: the view-consistency loss (lambda &gt; 0) on top of a view-batch configuration;</li>
 *   <li>{@code joint}: the upper bound, every class in one shuffled stream, with the {@code er} settings.</li>
 * </ul>
 *
 * @param name           a configuration name from {@link #NAMES}
 * @param views          R
 * @param growth         g
 * @param lambda         weight of the consistency loss (0 = off)
 * @param replay         whether the long-term buffer is on
 * @param joint          whether the stream is the joint one
 */
public record ClConfig(String name, int views, double growth, float lambda, boolean replay, boolean joint) {
    public static final List<String> NAMES = List.of("finetune", "er", "vb2", "vb2+ssl", "vb4", "vb4+ssl",
            "vb4-spaced", "vb4-spaced+ssl", "joint");

    /** A configuration by name. */
    public static ClConfig named(String name, float sslLambda) {
        String base = name.toLowerCase(Locale.ROOT);
        boolean ssl = base.endsWith("+ssl");
        if (ssl) {
            base = base.substring(0, base.length() - 4);
        }
        float lambda = ssl ? sslLambda : 0f;
        ClConfig c = switch (base) {
            case "finetune" -> new ClConfig(name, 1, 1.0, lambda, false, false);
            case "er" -> new ClConfig(name, 1, 1.0, lambda, true, false);
            case "vb2" -> new ClConfig(name, 2, 1.0, lambda, true, false);
            case "vb4" -> new ClConfig(name, 4, 1.0, lambda, true, false);
            case "vb4-spaced" -> new ClConfig(name, 4, 2.0, lambda, true, false);
            case "joint" -> new ClConfig(name, 1, 1.0, lambda, true, true);
            default -> throw new IllegalArgumentException("unknown configuration '" + name + "'; one of " + NAMES);
        };
        if (ssl && c.views < 2) {
            throw new IllegalArgumentException(name + ": the consistency loss needs at least 2 views per sample");
        }
        return c;
    }

    /** Shared knobs of one benchmark run. */
    public record Budget(int batchSize, int freshPerBatch, int viewsPerFreshSample, String arch, String hidden,
                         float learningRate, long evalEverySteps, int curveEverySteps, int maxTrainPerTask,
                         int validationPerTask, ClTuning tuning) {
        public Budget {
            if (batchSize < 1 || freshPerBatch < 1 || viewsPerFreshSample < 1) {
                throw new IllegalArgumentException("batch size, fresh per batch and views per fresh sample must be >= 1");
            }
            if (validationPerTask < 0) {
                throw new IllegalArgumentException("validationPerTask must be >= 0, got " + validationPerTask);
            }
            java.util.Objects.requireNonNull(tuning, "tuning");
        }

        /** Training steps a stream of {@code trainSamples} labeled samples gives. */
        public long steps(long trainSamples) {
            return trainSamples / freshPerBatch;
        }
    }

    /** The full experiment for a buffer size and seed. */
    public ExperimentSpec spec(Budget budget, int bufferSize, long seed) {
        if (budget.batchSize() % views != 0 || budget.viewsPerFreshSample() % views != 0) {
            throw new IllegalArgumentException(name + ": R = " + views + " must divide the batch size " + budget.batchSize()
                    + " and the views per fresh sample " + budget.viewsPerFreshSample());
        }
        int groups = budget.batchSize() / views;
        if (budget.freshPerBatch() >= groups) {
            throw new IllegalArgumentException(name + ": " + budget.freshPerBatch() + " fresh samples per batch leave no room"
                    + " for recalls in " + groups + " view groups");
        }
        ClassIncrementalStream.Settings stream = ClassIncrementalStream.Settings.splitFashionMnist(seed)
                .withMaxTrainPerTask(budget.maxTrainPerTask())
                .withValidation(budget.validationPerTask());
        if (joint) {
            stream = stream.asJoint();
        }
        ClTuning tuning = budget.tuning();
        CuratorSettings curator = tuning.apply(CuratorSettings.defaults()
                .optBatchSize(budget.batchSize())
                .optViews(views)
                .optFreshShare((double) budget.freshPerBatch() / groups)
                .optLongTermCapacity(replay ? bufferSize : 0)
                .optShortTermRecalls(budget.viewsPerFreshSample() / views - 1)
                .optIntervalGrowth(growth)
                .optFillRecalls(true)
                .optLinger(Duration.ZERO)
                .optEvalEverySteps(budget.evalEverySteps())
                .optEvalCapacityPerClass(100)
                .optContract(new ModelContract(List.of(1, 28, 28), 10))
                .optModelIds(stream.modelId())
                .optSeed(seed));
        // a user's module (--arch torchscript:FILE) brings its own initial weights: the seed varies the stream's
        // order and the augmentations, not the initialization
        java.util.Optional<TorchScriptModule> module = TorchScriptModule.fromArch(budget.arch());
        ModelSpec model = module.isPresent() ? module.get().spec(List.of(1, 28, 28), 10, java.util.Map.of())
                : ModelSpec.MLP.equals(budget.arch())
                ? new ModelSpec(ModelSpec.MLP, List.of(1, 28, 28), 10, java.util.Map.of("hidden", budget.hidden()))
                : new ModelSpec(ModelSpec.CNN, List.of(1, 28, 28), 10, java.util.Map.of());
        TrainerSettings defaults = TrainerSettings.builder(stream.modelId(), model).optModule(module.orElse(null)).build();
        TrainerSettings trainer = TrainerSettings.builder(stream.modelId(), model)
                .optModule(module.orElse(null))
                .optOptimizer(io.rehearsal.models.train.OptimizerKind.SGD, budget.learningRate())
                .optMomentum(tuning.momentum() != null ? tuning.momentum() : defaults.momentum())
                .optWeightDecay(tuning.weightDecay() != null ? tuning.weightDecay() : defaults.weightDecay())
                .optLambda(lambda, tuning.warmupSteps() != null ? tuning.warmupSteps() : defaults.lambda().warmupSteps(),
                        tuning.rampSteps() != null ? tuning.rampSteps() : defaults.lambda().rampSteps())
                .optAugment(tuning.apply(defaults.augment()))
                .optClassBalanced(tuning.classBalanced() != null ? tuning.classBalanced() : defaults.classBalanced())
                .optSeed(seed)
                .optBufferSize(replay ? bufferSize : 0)
                // through Kafka, a task boundary waits for a snapshot covering every batch: publish often
                .optSnapshotEvery(200, Duration.ofSeconds(1))
                .build();
        String label = joint ? name : name + " M=" + bufferSize;
        return new ExperimentSpec(label, stream, curator, trainer, budget.curveEverySteps(), 300);
    }
}
