package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.broker.junit.KafkaBrokerExtension;
import io.rehearsal.broker.junit.KafkaCluster;
import io.rehearsal.cli.bench.ClConfig;
import io.rehearsal.cli.data.ClassIncrementalStream;
import io.rehearsal.cli.data.FashionMnist;
import io.rehearsal.cli.experiment.ExperimentResult;
import io.rehearsal.cli.experiment.ExperimentSpec;
import io.rehearsal.cli.experiment.InProcessExperiment;
import io.rehearsal.cli.experiment.KafkaExperiment;
import io.rehearsal.cli.experiment.Progress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark may run in-process for speed only because it runs the same classes: the same stream
 * through real topics, the production CuratorApp and TrainerApp, and a ModelSubscriber gives the same
 * batches, hence the same model and the same accuracy matrix.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ExperimentModesIT {

    @Test
    void shouldGiveTheSameAccuracyMatrixInProcessAndThroughKafka(KafkaCluster kafka, @TempDir Path state) throws Exception {
        // Given one seed of the view-batch configuration on 300 images per task of the bundled subset
        ClConfig.Budget budget = new ClConfig.Budget(64, 4, 8, "mlp", "64", 0.05f, 20, 0, 300);
        ExperimentSpec spec = ClConfig.named("vb4+ssl", 1f).spec(budget, 100, 7);
        ClassIncrementalStream stream = ClassIncrementalStream.build(FashionMnist.bundledSubset(), spec.stream());

        // When it runs in-process, and through the broker
        ExperimentResult inProcess = InProcessExperiment.run(stream, spec, Progress.NONE);
        ExperimentResult throughKafka = KafkaExperiment.run(stream, spec,
                new KafkaExperiment.Target(kafka.clientProperties(), kafka.newTopics(1), state), new SimpleMeterRegistry(),
                Progress.NONE, KafkaExperiment.Finish.NONE);

        // Then the training is identical: same steps, views, prequential accuracy and accuracy matrix
        assertThat(throughKafka.steps()).isEqualTo(inProcess.steps()).isGreaterThan(100);
        assertThat(throughKafka.views()).isEqualTo(inProcess.views());
        assertThat(throughKafka.prequential()).isEqualTo(inProcess.prequential());
        assertThat(throughKafka.matrix().values()).isDeepEqualTo(inProcess.matrix().values());
        assertThat(inProcess.finalAccuracy()).isGreaterThan(0.2);
    }
}
