package io.rehearsal.bench.trainer;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.Networks;
import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TorchRuntime;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training samples/s of the MLP 784-256-256-10 (LayerNorm, ReLU) at batch 256 with SGD (momentum 0.9),
 * the same setup as {@code ops/bench/pytorch_mlp.py} runs in plain PyTorch eager:
 *
 * <ol>
 *   <li>{@code djl-loop}: a bare DJL loop on one fixed batch (forward, cross-entropy, backward, step,
 *       per-step sub-manager) - what PyTorch eager does;</li>
 *   <li>{@code trainer-r1}: {@link ContinualTrainer#train} on 256 recalled items x 1 view, no
 *       augmentation (adds decoding uint8 Avro features and building the batch);</li>
 *   <li>{@code trainer-r4}: 64 fresh items x 4 views with augmentation and the KL term (adds the
 *       prequential prediction, views and augmentations on the device).</li>
 * </ol>
 *
 * <pre>java -cp ... io.rehearsal.bench.trainer.TrainerThroughput [threads=1] [steps=300]</pre>
 */
public final class TrainerThroughput {
    private static final int BATCH = 256;
    private static final int WARMUP = 30;

    private TrainerThroughput() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        Engine engine = TorchRuntime.engine(threads, 1);
        Device device = TorchRuntime.device(engine);
        System.out.printf("DJL %s, PyTorch %s, %s, %d intra-op thread(s), batch %d, %d steps after %d warm-up%n",
                Engine.getDjlVersion(), engine.getVersion(), device, threads, BATCH, steps, WARMUP);
        report("djl-loop", BATCH, rawLoop(engine, device, steps));
        ModelSpec spec = ModelSpec.mlp(784, 10, 256, 256).withOption("image", "1x28x28");
        TrainerSettings plain = TrainerSettings.builder("bench", spec).optThreads(threads, 1)
                .optAugment(AugmentSettings.none()).optLambda(0f, 0, 0).build();
        report("trainer-r1", BATCH, trainer(plain, BenchBatches.images("bench", 20, BATCH, 1, ItemRole.RECALL, 1), steps));
        TrainerSettings views = TrainerSettings.builder("bench", spec).optThreads(threads, 1).optLambda(1f, 0, 0).build();
        report("trainer-r4", BATCH, trainer(views, BenchBatches.images("bench", 20, BATCH / 4, 4, ItemRole.FRESH, 2), steps));
    }

    private static long[] rawLoop(Engine engine, Device device, int steps) {
        engine.setRandomSeed(1);
        try (Model model = Model.newInstance("raw", device, TorchRuntime.ENGINE)) {
            model.setBlock(Networks.build(ModelSpec.mlp(784, 10, 256, 256)));
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).optMomentum(0.9f).build())
                    .optDevices(new Device[] {device});
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(1, 784));
                SplittableRandom random = new SplittableRandom(1);
                float[] x = new float[BATCH * 784];
                long[] y = new long[BATCH];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextDouble();
                }
                for (int i = 0; i < BATCH; i++) {
                    y[i] = random.nextInt(10);
                }
                long[] nanos = new long[steps];
                for (int s = -WARMUP; s < steps; s++) {
                    long t0 = System.nanoTime();
                    try (NDManager sm = model.getNDManager().newSubManager(device)) {
                        NDArray input = sm.create(x, new Shape(BATCH, 784));
                        NDArray labels = sm.create(y).reshape(BATCH, 1);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(new NDList(input)).singletonOrThrow();
                            NDArray loss = logits.logSoftmax(1).gather(labels, 1).mean().neg();
                            gc.backward(loss);
                        }
                        trainer.step();
                    }
                    if (s >= 0) {
                        nanos[s] = System.nanoTime() - t0;
                    }
                }
                return nanos;
            }
        }
    }

    private static long[] trainer(TrainerSettings settings, List<TrainBatch> batches, int steps) {
        try (ContinualTrainer trainer = new ContinualTrainer(settings)) {
            long[] nanos = new long[steps];
            for (int s = -WARMUP; s < steps; s++) {
                long t0 = System.nanoTime();
                trainer.train(batches.get(Math.floorMod(s, batches.size())));
                if (s >= 0) {
                    nanos[s] = System.nanoTime() - t0;
                }
            }
            return nanos;
        }
    }

    private static void report(String name, int rowsPerStep, long[] nanos) {
        long total = Arrays.stream(nanos).sum();
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf("%-11s %8.0f samples/s  step mean %6.2f ms  p50 %6.2f ms  p99 %6.2f ms%n", name,
                rowsPerStep * nanos.length / (total / 1e9), total / 1e6 / nanos.length, sorted[sorted.length / 2] / 1e6,
                sorted[(int) (sorted.length * 0.99)] / 1e6);
    }
}
