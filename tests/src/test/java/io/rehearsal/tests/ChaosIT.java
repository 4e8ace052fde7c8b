package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.chaos.ChaosPlan.Fault;
import io.rehearsal.bench.chaos.ChaosReport;
import io.rehearsal.bench.chaos.ChaosResult;
import io.rehearsal.bench.chaos.ChaosSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code rehearsal bench chaos}: the demo stream (bundled Fashion-MNIST subset, 320 training
 * images per task) through a broker of its own, with the curator and the trainer as child processes.
 * The trainer is SIGKILLed four times (while training, inside an open snapshot transaction twice, during
 * its start), the curator once, the broker restarts once; then nothing is lost, nothing is trained twice
 * in the lineage, and the model ends exactly where a clean run of the same stream ends.
 *
 * <p>The curator's linger is 30 s, as in ChaosClusterIT, not the demo's 60 s: longer than the curator's pause
 * after its kill or the broker's restart, so that no fault changes how the stream is cut into batches, and
 * the stream's end, which waits a linger in both runs, comes 30 s sooner.
 *
 * <p>The trainer runs SGD with the default momentum 0.9: the momentum buffers travel in every snapshot
 * (its optimizer state), so a resumed trainer continues bit for bit as one that never stopped, and
 * exactly-once end to end means the same weights, bit for bit.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ChaosIT {

    @Test
    void shouldLoseNoSampleAndTrainNoBatchTwiceWhenTheTrainerCuratorAndBrokerFail(@TempDir Path dir) throws Exception {
        // Given the demo stream and a plan of faults, and a clean run of the same stream and seed
        ChaosSettings settings = ChaosSettings.demo(7, 320, 4, 1, 1, dir.resolve("chaos"))
                .withLinger(Duration.ofSeconds(30))
                .withTimeout(Duration.ofMinutes(4));
        assertThat(settings.momentum()).isEqualTo(0.9f);

        // When the same stream runs while the faults strike (the clean run beside it, on a broker of its own)
        CleanAndChaos.Runs runs = CleanAndChaos.run(settings);
        ChaosResult clean = runs.clean();
        ChaosResult chaos = runs.chaos();
        ChaosReport report = runs.report();

        // Then every fault was carried out, and no process exited on its own
        assertThat(chaos.trainerKills()).isEqualTo(4);
        assertThat(chaos.faults(Fault.CURATOR_KILL)).isEqualTo(1);
        assertThat(chaos.faults(Fault.BROKER_RESTART)).isEqualTo(1);
        assertThat(chaos.unplannedExits()).isEmpty();
        // and the topics show versions 1..n in a chain, every batch trained once in it, every sample trained
        // FRESH once and covered by the last snapshot, the curator through all input, no dead letter
        assertThat(chaos.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
        assertThat(clean.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("clean %s: %s", c.name(), c.detail()).isTrue());
        assertThat(chaos.lineage().trainableSamples()).isEqualTo(clean.lineage().trainableSamples()).isGreaterThan(1000);
        // and the re-training a kill costs stays within the snapshot interval (100 steps)
        assertThat(chaos.kills()).allSatisfy(k -> assertThat(k.retrained()).isLessThanOrEqualTo(settings.snapshotEverySteps()));
        // and the curator cut the stream into the very same batches, and the trainer ended with the very same
        // weights, as in the clean run: the kills cost time, not a bit of the result
        assertThat(report.identicalBatches()).isEqualTo(clean.lineage().batchSignatures().size());
        assertThat(report.identicalWeights()).as("final weights bit-identical to the clean run's").isTrue();
        assertThat(chaos.finalAccuracy()).isEqualTo(clean.finalAccuracy());
        assertThat(report.checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
    }
}
