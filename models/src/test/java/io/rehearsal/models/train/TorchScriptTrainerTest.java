package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ExampleModules;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's TorchScript module (examples/models, exported with Debian's python3-torch) trained by the trainer
 * as the built-in networks are: parameters by the module's names, the same loss and optimizer, learning, and a
 * resume from weights plus optimizer state bit-identical with an uninterrupted run.
 */
@RequiresTool(Tool.PYTHON_TORCH)
class TorchScriptTrainerTest {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    @TempDir
    static Path dir;
    private static TorchScriptModule head;

    @BeforeAll
    static void export() {
        head = ExampleModules.head(dir, DIMS, 32, CLASSES, 3);
    }

    private static TrainerSettings.Builder settings(String modelId, OptimizerKind optimizer, float lr) {
        return TrainerSettings.builder(modelId, head.spec(List.of(DIMS), CLASSES, Map.of()))
                .optModule(head).optOptimizer(optimizer, lr).optLambda(1f, 10, 10).optSeed(7);
    }

    @Test
    void shouldTrainTheModulesParametersByTheirOwnNamesAndLearn() {
        SyntheticStream stream = new SyntheticStream("ts", DIMS, CLASSES, 1);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("ts", OptimizerKind.SGD, 0.05f).build())) {
            List<NamedTensor> initial = trainer.parameters();
            assertThat(initial).extracting(NamedTensor::name).containsExactly(
                    "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "head.weight", "head.bias");
            for (int i = 0; i < 150; i++) {
                trainer.train(stream.trainBatch(16, 2));
            }
            assertThat(trainer.parameters().get(0).data()).isNotEqualTo(initial.get(0).data());
            List<float[]> xs = new ArrayList<>();
            List<Integer> ys = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                int y = stream.randomLabel();
                ys.add(y);
                xs.add(stream.sample(y));
            }
            trainer.evaluate(stream.evalBatch(xs, ys, 1));
            assertThat(trainer.evals().accuracy()).isGreaterThan(0.95);
            assertThat(trainer.optimizerState()).extracting(NamedTensor::name).anyMatch(n -> n.contains("head.weight"));
        }
    }

    @Test
    void shouldResumeBitIdenticallyFromWeightsAndOptimizerState() {
        for (OptimizerKind kind : OptimizerKind.values()) {
            List<TrainBatch> batches = new ArrayList<>();
            SyntheticStream stream = new SyntheticStream("ts-" + kind, DIMS, CLASSES, 5);
            for (int i = 0; i < 30; i++) {
                batches.add(stream.trainBatch(8, 3));
            }
            TrainerSettings s = settings("ts-" + kind, kind, kind == OptimizerKind.ADAM ? 0.001f : 0.05f).build();
            try (ContinualTrainer uninterrupted = new ContinualTrainer(s)) {
                for (int i = 0; i < 15; i++) {
                    uninterrupted.train(batches.get(i));
                }
                List<NamedTensor> weights = uninterrupted.parameters();
                List<NamedTensor> state = uninterrupted.optimizerState();
                for (int i = 15; i < 30; i++) {
                    uninterrupted.train(batches.get(i));
                }
                try (ContinualTrainer resumed = new ContinualTrainer(s)) {
                    resumed.loadParameters(weights);
                    resumed.loadOptimizerState(state);
                    resumed.resumeAt(15, 0);
                    for (int i = 15; i < 30; i++) {
                        resumed.train(batches.get(i));
                    }
                    assertBitIdentical(resumed.parameters(), uninterrupted.parameters());
                    assertBitIdentical(resumed.optimizerState(), uninterrupted.optimizerState());
                }
            }
        }
    }

    @Test
    void shouldRefuseAModuleThatIsNotTheOneTheSpecNames() {
        TorchScriptModule other = ExampleModules.head(dir, DIMS, 16, CLASSES, 4);
        assertThatThrownBy(() -> TrainerSettings.builder("ts", head.spec(List.of(DIMS), CLASSES, Map.of()))
                .optModule(other).build()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(other.sha256());
        assertThatThrownBy(() -> TrainerSettings.builder("ts", head.spec(List.of(DIMS), CLASSES, Map.of())).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("module file");
        assertThatThrownBy(() -> TorchScriptModule.of(new byte[] {1, 2, 3, 4}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a TorchScript module");
    }

    /**
     * What DJL 0.36 does with buffers (docs/byo-models.md): its JNI lists a module's parameters only
     * ({@code named_parameters}), so BatchNorm's running mean and variance are neither in the snapshot nor restored
     * from it. They do change inside libtorch while the module trains (train mode), so a model rebuilt from the
     * snapshot (a subscriber, a resumed trainer) predicts with the export's statistics, not the trained ones.
     */
    @Test
    void shouldLeaveBatchNormRunningStatisticsOutOfTheParametersWhichChangesPredictionsAfterAReload() throws Exception {
        java.nio.file.Path file = dir.resolve("bn.pt");
        Process p = new ProcessBuilder(Tool.python(), "-c", "import torch, sys\n"
                + "torch.manual_seed(0)\n"
                + "m = torch.nn.Sequential(torch.nn.Linear(" + DIMS + ", 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),"
                + " torch.nn.Linear(16, " + CLASSES + "))\n"
                + "torch.jit.script(m).save(sys.argv[1])\n", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        TorchScriptModule bn = TorchScriptModule.read(file);
        TrainerSettings s = TrainerSettings.builder("bn", bn.spec(List.of(DIMS), CLASSES, Map.of())).optModule(bn)
                .optOptimizer(OptimizerKind.SGD, 0.05f).optSeed(7).build();
        SyntheticStream stream = new SyntheticStream("bn", DIMS, CLASSES, 1);
        List<float[]> probes = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            probes.add(stream.sample(i % CLASSES));
        }
        try (ContinualTrainer trained = new ContinualTrainer(s)) {
            for (int i = 0; i < 30; i++) {
                trained.train(stream.trainBatch(16, 2));
            }
            // the parameters: BatchNorm's weight and bias, not running_mean, running_var, num_batches_tracked
            assertThat(trained.parameters()).extracting(NamedTensor::name)
                    .containsExactly("0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias");
            try (ContinualTrainer reloaded = new ContinualTrainer(s)) {
                reloaded.loadParameters(trained.parameters());
                assertBitIdentical(reloaded.parameters(), trained.parameters());
                float[][] before = trained.probabilities(probes);
                float[][] after = reloaded.probabilities(probes);
                // same parameters, other running statistics: other predictions
                double largest = 0;
                for (int i = 0; i < probes.size(); i++) {
                    for (int k = 0; k < CLASSES; k++) {
                        largest = Math.max(largest, Math.abs(before[i][k] - after[i][k]));
                    }
                }
                assertThat(largest).isGreaterThan(1e-3);
            }
        }
    }
}
