package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.models.net.ExampleModules;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example ResNet resumed as a new trainer process resumes it after {@code kill -9} (the module loaded afresh from
 * its file, then weights and optimizer state from a snapshot's tensors) trains on bit-identically with the model that
 * never stopped, while the garbage collector runs all the time.
 *
 * <p>In one of the first steps after such a load, the module's backward pass now and then returns NaN gradients from a
 * finite loss (about one load in eight here, more often while the collector runs); computed again, the same step's
 * gradients are finite and bit-identical to the uninterrupted model's. Before the trainer computed such a step again
 * it refused it as {@code NON_FINITE_GRADIENT}, and the resumed model went on from other weights than the one that
 * never stopped (issue 18, {@code TorchScriptChaosIT}); this test then failed in most runs, as it loads the module
 * afresh {@value #RESUMES} times.
 */
@RequiresTool(Tool.PYTHON_TORCH)
class TorchScriptResumeTest {
    private static final int CLASSES = 10;
    private static final int STEPS = 6;
    private static final int RESUME_AT = 3;
    private static final int RESUMES = 12;

    @TempDir
    static Path dir;

    @Test
    void shouldResumeTheExampleResNetFromASnapshotBitIdenticallyWhileTheGarbageCollectorRuns() throws Exception {
        // Given the ResNet trained for 6 steps without a stop, and its weights and optimizer state after step 3
        TorchScriptModule resnet = ExampleModules.resnet(dir, "8,16,16", CLASSES, 0);
        TrainerSettings s = TrainerSettings.builder("resnet", resnet.spec(List.of(1, 28, 28), CLASSES, Map.of()))
                .optModule(resnet).optOptimizer(OptimizerKind.SGD, 0.05f).optMomentum(0.9f).optLambda(1f, 0, 0)
                .optSeed(7).optThreads(1, 1).build();
        SyntheticStream stream = new SyntheticStream("resnet", 28 * 28, CLASSES, 3);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < STEPS; i++) {
            batches.add(stream.trainBatch(6 + i % 3, 3));
        }
        List<NamedTensor> weights;
        List<NamedTensor> state;
        List<NamedTensor> finalWeights;
        List<NamedTensor> finalState;
        try (ContinualTrainer uninterrupted = new ContinualTrainer(s)) {
            for (int i = 0; i < RESUME_AT; i++) {
                uninterrupted.train(batches.get(i));
            }
            weights = uninterrupted.parameters();
            state = uninterrupted.optimizerState();
            for (int i = RESUME_AT; i < STEPS; i++) {
                uninterrupted.train(batches.get(i));
            }
            finalWeights = uninterrupted.parameters();
            finalState = uninterrupted.optimizerState();
        }

        AtomicBoolean running = new AtomicBoolean(true);
        Thread collector = new Thread(() -> {
            while (running.get()) {
                System.gc();
                Thread.onSpinWait();
            }
        }, "gc-stress");
        collector.setDaemon(true);
        collector.start();
        try {
            for (int attempt = 0; attempt < RESUMES; attempt++) {
                // When a new model loads the module from its file, takes the snapshot and trains the same batches
                try (ContinualTrainer resumed = new ContinualTrainer(s)) {
                    resumed.loadParameters(weights);
                    resumed.loadOptimizerState(state);
                    resumed.resumeAt(RESUME_AT, 0);
                    for (int i = RESUME_AT; i < STEPS; i++) {
                        // (a step with NaN gradients throws NonFiniteStepException here)
                        assertThat(resumed.train(batches.get(i)).step()).isEqualTo(i + 1);
                    }

                    // Then its weights and optimizer state are bit-identical to the uninterrupted model's
                    assertBitIdentical(resumed.parameters(), finalWeights);
                    assertBitIdentical(resumed.optimizerState(), finalState);
                }
            }
        } finally {
            running.set(false);
            collector.join();
        }
    }
}
