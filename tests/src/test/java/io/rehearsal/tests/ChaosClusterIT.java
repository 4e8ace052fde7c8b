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
 * {@link ChaosIT} on the topology users run: three brokers (replication 3, min.insync.replicas 2), a
 * standby trainer, and a curator that scales from one instance to three and back mid-stream. The brokers
 * stop one at a time: the leader of the train-batches partition, the leader of the model-updates partition,
 * the trainer's transaction coordinator while a snapshot transaction is open. The active trainer is killed
 * once; the standby takes over (its transactional id fencing the dead one) and the victim comes back as the
 * new standby. Then the same checks as ChaosIT, from the topics alone, against a clean run on three brokers.
 *
 * <p>Sized for CI (every kind of cluster fault once; ChaosIT has the other kinds of trainer kill): one trainer
 * kill, a 30 s linger (longer than any curator pause here, so that no fault changes how the stream is cut
 * into batches; the stream's end waits that long), and the clean run beside the chaos run, on its own
 * brokers, instead of before it.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class ChaosClusterIT {

    @Test
    void shouldLoseNothingOnThreeBrokersWithAStandbyTrainerAndACuratorScalingOutAndIn(@TempDir Path dir) throws Exception {
        // Given the demo stream on three brokers, a plan of faults, and a clean run of the same stream and seed
        ChaosSettings settings = ChaosSettings.demo(7, 320, 1, 0, 3, dir.resolve("chaos"))
                .withTopology(new ChaosSettings.Topology(3, true, 1))
                .withLinger(Duration.ofSeconds(30))
                .withTimeout(Duration.ofMinutes(6));

        // When the same stream runs while brokers stop, the curator scales and the active trainer dies (the clean run
        // beside it, on brokers of its own)
        CleanAndChaos.Runs runs = CleanAndChaos.run(settings);
        ChaosResult clean = runs.clean();
        ChaosResult chaos = runs.chaos();
        ChaosReport report = runs.report();

        // Then every fault was carried out, and no process exited on its own
        assertThat(chaos.trainerKills()).isEqualTo(1);
        assertThat(chaos.faults(Fault.BROKER_RESTART)).isEqualTo(3);
        assertThat(chaos.brokerRestarts()).extracting(r -> r.role().split(" ")[0])
                .containsExactly("leader", "leader", "transaction");
        assertThat(chaos.faults(Fault.CURATOR_SCALE_OUT)).isEqualTo(1);
        assertThat(chaos.faults(Fault.CURATOR_SCALE_IN)).isEqualTo(1);
        assertThat(chaos.unplannedExits()).isEmpty();
        // and each kill of the active trainer was followed by a snapshot of its successor
        assertThat(chaos.failoverMillis()).isNotEmpty();
        // and the topics show versions 1..n in a chain, every sample trained FRESH once, nothing lost
        assertThat(chaos.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
        assertThat(clean.lineage().checks()).allSatisfy(c -> assertThat(c.passed()).as("clean %s: %s", c.name(), c.detail()).isTrue());
        assertThat(chaos.lineage().trainableSamples()).isEqualTo(clean.lineage().trainableSamples()).isGreaterThan(1000);
        // and the same batches and bit for bit the same weights as the clean run
        assertThat(report.identicalBatches()).isEqualTo(clean.lineage().batchSignatures().size());
        assertThat(report.identicalWeights()).as("final weights bit-identical to the clean run's").isTrue();
        assertThat(report.checks()).allSatisfy(c -> assertThat(c.passed()).as("%s: %s", c.name(), c.detail()).isTrue());
    }
}
