package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.chaos.ChaosReport;
import io.rehearsal.bench.chaos.ChaosResult;
import io.rehearsal.bench.chaos.ChaosRun;
import io.rehearsal.bench.chaos.ChaosSettings;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's network survives {@code kill -9} as the built-in ones do: the example ResNet (examples/models, exported
 * with python3-torch) trained by the {@code rehearsal trainer --arch torchscript:FILE} child process on the demo
 * stream, SIGKILLed twice; every incarnation resumes from the latest snapshot's weights and optimizer state, the
 * subscriber that evaluates it reads the module from the snapshot's architecture, and the final weights are
 * bit-identical to a clean run's.
 */
@RequiresTool(Tool.PYTHON_TORCH)
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class TorchScriptChaosIT {

    @Test
    void shouldResumeAUsersModuleAfterKill9WithBitIdenticalWeights(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception { // a failed run keeps its logs
        // Given a small ResNet exported by the user's script, and the demo stream (160 training images per task)
        Path module = dir.resolve("resnet.pt");
        Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/models/export.py").toString(), "resnet",
                "--widths", "8,16,16", "--out", module.toString()));
        ChaosSettings settings = ChaosSettings.demo(7, 160, 2, 0, 0, dir.resolve("chaos"))
                .withTimeout(Duration.ofMinutes(8)).withTrainerArgs("--arch", "torchscript:" + module);
        ClassIncrementalStream stream = ClassIncrementalStream.build(FashionMnist.bundledSubset(), settings.stream());
        ChaosResult clean = ChaosRun.run(settings.clean(), stream, System.out);

        // When the trainer is SIGKILLed twice while it trains the same stream
        ChaosResult chaos = ChaosRun.run(settings, stream, System.out);
        ChaosReport report = new ChaosReport(clean, chaos, 0.01);
        System.out.println(report.markdown());

        // Then both kills struck, the lineage is whole, and the final weights are bit-identical to the clean run's
        assertThat(chaos.trainerKills()).isEqualTo(2);
        assertThat(chaos.unplannedExits()).isEmpty();
        assertThat(chaos.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
        assertThat(clean.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("clean %s: %s", c.name(), c.detail()).isTrue());
        assertThat(report.identicalWeights()).as("final weights bit-identical to the clean run's").isTrue();
        assertThat(chaos.finalAccuracy()).isEqualTo(clean.finalAccuracy()).isGreaterThan(0.1);
    }
}
