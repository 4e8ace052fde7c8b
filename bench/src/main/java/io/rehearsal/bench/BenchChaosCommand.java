package io.rehearsal.bench;

import io.rehearsal.bench.chaos.ChaosReport;
import io.rehearsal.bench.chaos.ChaosResult;
import io.rehearsal.bench.chaos.ChaosRun;
import io.rehearsal.bench.chaos.ChaosSettings;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal bench chaos}: the demo stream through Kafka while the trainer, the curator and the broker fail. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = {"Run the demo stream (class-incremental Split Fashion-MNIST with flipped labels, corrections and",
                "requests) through an in-process broker into the curator and the trainer, each its own process, while",
                "a controller SIGKILLs the trainer (while training, inside an open snapshot transaction, during its",
                "start) and the curator and restarts the broker. Then check the topics: every sample trained once and",
                "covered by a snapshot, versions 1..n each the parent of the next, every batch trained once in the",
                "lineage; and compare the final accuracy with a clean run of the same stream and seed.",
                "Writes chaos.md; exits 1 if a check fails."})
public final class BenchChaosCommand implements Callable<Integer> {
    @Option(names = "--trainer-kills", defaultValue = "20", description = "SIGKILLs of the trainer (default: ${DEFAULT-VALUE}).")
    int trainerKills;
    @Option(names = "--curator-kills", defaultValue = "5", description = "SIGKILLs of the curator (default: ${DEFAULT-VALUE}).")
    int curatorKills;
    @Option(names = "--broker-restarts", defaultValue = "1", description = "Broker restarts; with --brokers 3 each stops one broker, in "
            + "turn the leader of train-batches, the leader of model-updates and the trainer's transaction coordinator during an open "
            + "transaction (default: ${DEFAULT-VALUE}).")
    int brokerRestarts;
    @Option(names = "--brokers", defaultValue = "1", description = "Brokers of the in-process cluster; 3 gives replication 3, "
            + "min.insync.replicas 2 (default: ${DEFAULT-VALUE}).")
    int brokers;
    @Option(names = "--standby-trainer", description = "Run a second trainer with --standby: every trainer kill strikes the active "
            + "one and the standby takes over (reports kill-to-first-new-snapshot times).")
    boolean standbyTrainer;
    @Option(names = "--curator-scale-outs", defaultValue = "0", description = "Times the curator goes from 1 to 3 instances and "
            + "back mid-stream (default: ${DEFAULT-VALUE}).")
    int curatorScaleOuts;
    @Option(names = "--max-train-per-task", defaultValue = "0", description = "Cut each task's training images (0 = all).")
    int maxTrainPerTask;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the stream, the curator, the model and the faults (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--linger", defaultValue = "PT60S", description = "The curator's partial-batch wait; longer than a curator restart (default: ${DEFAULT-VALUE}).")
    Duration linger;
    @Option(names = "--momentum", defaultValue = "0.9", description = "The trainer's SGD momentum (the demo's 0.9); its buffers are in every snapshot, so resumed runs are bit-identical with any value (default: ${DEFAULT-VALUE}).")
    float momentum;
    @Option(names = "--tolerance", defaultValue = "0.01", description = "Largest accepted gap to the clean run's final accuracy (default: ${DEFAULT-VALUE} = 1 point).")
    double tolerance;
    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist", description = "Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}; the bundled subset if absent).")
    Path data;
    @Option(names = "--out", defaultValue = "reports/bench-chaos", description = "Report and logs directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        return LogDiversion.around(out, "bench-chaos.log", console, this::run);
    }

    private Integer run() throws Exception {
        FashionMnist.Data dataset = FashionMnist.load(data);
        Files.createDirectories(out);
        ChaosSettings settings = ChaosSettings.demo(seed, maxTrainPerTask, trainerKills, curatorKills, brokerRestarts,
                out.toAbsolutePath().resolve("run")).withLinger(linger).withMomentum(momentum)
                .withTopology(new ChaosSettings.Topology(brokers, standbyTrainer, curatorScaleOuts));
        ClassIncrementalStream stream = ClassIncrementalStream.build(dataset, settings.stream());
        System.out.printf("rehearsal bench chaos: %s, %d records; %d broker(s); %d trainer kills%s, %d curator kills, %d curator "
                + "scale-outs, %d broker restarts; momentum %s%n", dataset.source(), stream.events().size(), brokers, trainerKills,
                standbyTrainer ? " (with a standby)" : "", curatorKills, curatorScaleOuts, brokerRestarts, momentum);
        ChaosResult clean = ChaosRun.run(settings.clean(), stream, System.out);
        ChaosResult chaos = ChaosRun.run(settings, stream, System.out);
        ChaosReport report = new ChaosReport(clean, chaos, tolerance);
        String md = "# rehearsal bench chaos\n\n" + dataset.source() + ", seed " + seed + ", " + stream.events().size()
                + " records, trainer momentum " + momentum + "; logs of every process in " + settings.workDir() + "\n\n"
                + report.markdown();
        Files.writeString(out.resolve("chaos.md"), md);
        System.out.println();
        System.out.println(md);
        System.out.println(report.passed() ? "all checks passed" : "SOME CHECKS FAILED");
        System.out.println("report: " + out.resolve("chaos.md"));
        return report.passed() ? 0 : 1;
    }
}
