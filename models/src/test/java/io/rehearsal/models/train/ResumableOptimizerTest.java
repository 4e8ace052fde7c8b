package io.rehearsal.models.train;

import io.rehearsal.models.runtime.TorchRuntime;
import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@link MomentumSgd} and {@link ResumableAdam} update exactly as DJL's {@code Sgd} and {@code Adam} do,
 * and their state, exported and imported again, continues training bit for bit.
 */
class ResumableOptimizerTest {
    private static final ModelSpec SPEC = ModelSpec.mlp(20, 4, 32, 16);
    private static final long SEED = 5;

    /** A bare DJL loop: the same initial weights, batches and random draws for any optimizer. */
    private static final class Loop implements AutoCloseable {
        final Model model;
        final Trainer trainer;
        final Engine engine = TorchRuntime.engine(1, 1);
        final Optimizer optimizer;

        Loop(Optimizer optimizer) {
            this.optimizer = optimizer;
            TorchRuntime.seed(engine, SEED, 0);
            model = Model.newInstance("opt", Device.cpu(), TorchRuntime.ENGINE);
            model.setBlock(Networks.build(SPEC));
            trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(optimizer)
                    .optDevices(new Device[] {Device.cpu()}));
            trainer.initialize(new Shape(1, 20));
        }

        /** Steps {@code from + 1 .. to}; step s always sees the same batch. */
        Loop train(int from, int to) {
            for (int step = from + 1; step <= to; step++) {
                Random random = new Random(step);
                float[] x = new float[16 * 20];
                float[] y = new float[16];
                for (int i = 0; i < y.length; i++) {
                    y[i] = random.nextInt(4);
                    for (int j = 0; j < 20; j++) {
                        x[i * 20 + j] = (float) random.nextGaussian() + y[i] * (j % 4 == y[i] ? 1f : 0f);
                    }
                }
                try (NDManager sm = model.getNDManager().newSubManager();
                     GradientCollector collector = trainer.newGradientCollector()) {
                    TorchRuntime.seed(engine, SEED, step);
                    NDArray logits = trainer.forward(new NDList(sm.create(x, new Shape(16, 20)))).singletonOrThrow();
                    collector.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(sm.create(y)), new NDList(logits)));
                }
                trainer.step();
            }
            return this;
        }

        List<NamedTensor> weights() {
            return Networks.parameters(model.getBlock());
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
        }
    }

    private static List<NamedTensor> train(Optimizer optimizer, int steps) {
        try (Loop loop = new Loop(optimizer)) {
            return loop.train(0, steps).weights();
        }
    }


    @Test
    void shouldUpdateBitIdenticallyToDjlSgdWithMomentumWeightDecayRescalingAndClipping() {
        // Given DJL's Sgd and MomentumSgd with the same settings, in three configurations
        for (float[] c : new float[][] {{0.05f, 0.9f, 0f, 1f, -1f}, {0.05f, 0.9f, 1e-3f, 0.5f, 0.02f}, {0.1f, 0f, 1e-4f, 1f, -1f}}) {
            // When each trains the same 30 steps
            List<NamedTensor> djl = train(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(c[0])).optMomentum(c[1])
                    .optWeightDecays(c[2]).setRescaleGrad(c[3]).optClipGrad(c[4]).build(), 30);
            List<NamedTensor> ours = train(MomentumSgd.builder().setLearningRate(c[0]).optMomentum(c[1])
                    .optWeightDecays(c[2]).setRescaleGrad(c[3]).optClipGrad(c[4]).build(), 30);
            // Then the weights are bit-identical
            assertBitIdentical(ours, djl);
        }
    }

    @Test
    void shouldUpdateBitIdenticallyToDjlAdam() {
        List<NamedTensor> djl = train(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).optWeightDecays(1e-4f)
                .build(), 30);
        List<NamedTensor> ours = train(ResumableAdam.builder().setLearningRate(1e-3f).optWeightDecays(1e-4f).build(), 30);

        assertBitIdentical(ours, djl);
    }

    @Test
    void shouldContinueBitIdenticallyAfterExportingAndImportingTheState() {
        List<Supplier<Optimizer>> optimizers = List.of(
                () -> MomentumSgd.builder().setLearningRate(0.05f).optMomentum(0.9f).optWeightDecays(1e-4f).build(),
                () -> ResumableAdam.builder().setLearningRate(1e-3f).build());
        for (Supplier<Optimizer> optimizer : optimizers) {
            // Given a run of 40 steps without a stop
            List<NamedTensor> uninterrupted = train(optimizer.get(), 40);
            // and one that stops after 20, its weights and optimizer state saved as npz
            byte[] weights;
            byte[] state;
            try (Loop first = new Loop(optimizer.get()).train(0, 20)) {
                weights = SnapshotCodec.encodeParameters(first.weights());
                List<NamedTensor> exported = ((ResumableOptimizer) first.optimizer)
                        .exportState(first.model.getBlock().getParameters());
                assertThat(exported).isNotEmpty();
                state = SnapshotCodec.encodeParameters(exported);
            }
            // When a new loop loads both and trains steps 21..40
            List<NamedTensor> resumed;
            List<NamedTensor> reexported;
            try (Loop second = new Loop(optimizer.get())) {
                Networks.loadParameters(second.model.getBlock(), SnapshotCodec.decodeParameters("npz", weights), "test");
                ResumableOptimizer o = (ResumableOptimizer) second.optimizer;
                o.importState(second.model.getBlock().getParameters(), SnapshotCodec.decodeParameters("npz", state));
                reexported = o.exportState(second.model.getBlock().getParameters());
                resumed = second.train(20, 40).weights();
            }
            // Then the state read back is the state saved, and the weights end bit-identical
            assertThat(SnapshotCodec.encodeParameters(reexported)).isEqualTo(state);
            assertBitIdentical(resumed, uninterrupted);
            // while a resume without the state (as before snapshots carried it) ends elsewhere
            try (Loop stateless = new Loop(optimizer.get())) {
                Networks.loadParameters(stateless.model.getBlock(), SnapshotCodec.decodeParameters("npz", weights), "test");
                assertThat(stateless.train(20, 40).weights().get(0).data()).isNotEqualTo(uninterrupted.get(0).data());
            }
        }
    }

    @Test
    void shouldRefuseStateOfAnotherOptimizerOrArchitecture() {
        try (Loop sgd = new Loop(MomentumSgd.builder().setLearningRate(0.05f).optMomentum(0.9f).build()).train(0, 2);
             Loop adam = new Loop(ResumableAdam.builder().setLearningRate(1e-3f).build())) {
            List<NamedTensor> momentum = ((ResumableOptimizer) sgd.optimizer)
                    .exportState(sgd.model.getBlock().getParameters());
            assertThat(momentum).extracting(NamedTensor::name).startsWith("momentum/02Linear_weight", "momentum/02Linear_bias");
            ResumableOptimizer target = (ResumableOptimizer) adam.optimizer;

            assertThatThrownBy(() -> target.importState(adam.model.getBlock().getParameters(), momentum))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Adam on this model does not have (momentum/02Linear_weight");
            NamedTensor wrongShape = new NamedTensor("momentum/02Linear_bias", new long[] {3}, new float[3]);
            ResumableOptimizer sgdOptimizer = (ResumableOptimizer) sgd.optimizer;
            assertThatThrownBy(() -> sgdOptimizer.importState(sgd.model.getBlock().getParameters(), List.of(wrongShape)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("momentum/02Linear_bias has shape [3] but parameter 02Linear_bias has [32]");
            // and the refused imports changed nothing
            assertThat(SnapshotCodec.encodeParameters(sgdOptimizer.exportState(sgd.model.getBlock().getParameters())))
                    .isEqualTo(SnapshotCodec.encodeParameters(momentum));
        }
    }
}
