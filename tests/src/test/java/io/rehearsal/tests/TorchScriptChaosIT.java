package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.chaos.ChaosReport;
import io.rehearsal.bench.chaos.ChaosResult;
import io.rehearsal.bench.chaos.ChaosSettings;
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
        // Given a small ResNet exported by the user's script, and the demo stream cut short (80 training images per
        // task); the curator is never killed here, and its input is all on the topic before it starts, so its
        // partial-batch wait need not outlast a curator restart: 10 s instead of 60 (each run waits it out at the end)
        // (export.py's default widths: weights plus momentum exceed the trainer's 512 KiB inline limit, so a snapshot
        // is written in chunks and the second kill can strike while its transaction is open; a narrower module's
        // snapshot is one record, and that kill only ever found an idle trainer)
        Path module = dir.resolve("resnet.pt");
        Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/models/export.py").toString(), "resnet",
                "--out", module.toString()));
        // A snapshot every 4 steps: a kill comes due when the committed step passes its mark, and with the demo's
        // 100 a resumed trainer of this short stream committed only once, at the end, after which the second kill
        // waited a minute for a transaction that never opened
        ChaosSettings settings = ChaosSettings.demo(7, 80, 2, 0, 0, dir.resolve("chaos"))
                .withLinger(Duration.ofSeconds(10)).withSnapshotEverySteps(4).withTimeout(Duration.ofMinutes(6))
                .withTrainerArgs("--arch", "torchscript:" + module);

        // When the trainer is SIGKILLed twice while it trains the same stream: once at a random moment while it trains,
        // once as soon as a snapshot transaction is open (the clean run beside it, on a broker of its own)
        CleanAndChaos.Runs runs = CleanAndChaos.run(settings);
        ChaosResult clean = runs.clean();
        ChaosResult chaos = runs.chaos();
        ChaosReport report = runs.report();

        // Then both kills struck, one of them inside a snapshot transaction, the lineage is whole, and the final weights
        // are bit-identical to the clean run's
        assertThat(chaos.trainerKills()).isEqualTo(2);
        assertThat(chaos.lineage().abortedChunkTransactions()).as("snapshot transactions a kill left open").isPositive();
        assertThat(chaos.unplannedExits()).isEmpty();
        assertThat(chaos.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
        assertThat(clean.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("clean %s: %s", c.name(), c.detail()).isTrue());
        assertThat(report.identicalWeights()).as("final weights bit-identical to the clean run's").isTrue();
        // (52 steps of this short stream are too few for the ResNet to learn much: ~10% here, so no floor on the
        // accuracy; TorchScriptTrainerTest shows that a module learns)
        assertThat(chaos.finalAccuracy()).isEqualTo(clean.finalAccuracy());
    }
}
