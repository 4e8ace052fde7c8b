package io.rehearsal.bench;

import io.rehearsal.bench.perf.PerfRun;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal bench perf}: rehearsal against its peers, side by side, in one command. */
@Command(name = "perf", mixinStandardHelpOptions = true,
        description = {"Speed of rehearsal next to its peers, measured in the same run on the same machine:",
                "  trainer    samples/s of the full view-batch step (MLP, CNN; B = 64, 256; R = 1, 4) against plain",
                "             PyTorch eager (ops/bench/pytorch_trainer.py under /usr/bin/python3), interleaved;",
                "  ingest     samples/s the curator sustains (784 float32 and uint8) against Kafka's ProducerPerformance",
                "             at the same record size on the same broker; 1, 2, 4 partitions and stream threads;",
                "  freshness  p50/p99 time from producing a sample to a subscriber serving a model trained on it, at",
                "             fixed rates through the whole pipeline (broker, curator, trainer, ModelSubscriber);",
                "  memory     trainer RSS over many steps; RocksDB bytes per buffered sample.",
                "Prints a table (figure, rehearsal, peer, ratio) and writes it with the machine, load and commit."})
public final class BenchPerfCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "Smallest settings (a couple of minutes): checks the machinery, figures are rough.")
    boolean quick;
    @Option(names = "--sections", split = ",", defaultValue = "trainer,ingest,freshness,memory",
            description = "Which parts to run (default: ${DEFAULT-VALUE}).")
    List<String> sections;
    @Option(names = "--bootstrap-servers", description = "Kafka to run against (default: an embedded broker in this process).")
    String bootstrapServers;
    @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "Python with torch for the trainer peer (default: ${DEFAULT-VALUE}).")
    Path python;
    @Option(names = "--openblas", description = {"Directory with OpenBLAS's libblas.so.3 for the PyTorch peer (Debian's python3-torch",
            "otherwise runs on reference BLAS). Default: $OPENBLAS_LIB, else /usr/lib/x86_64-linux-gnu/openblas-pthread if present."})
    Path openblas;
    @Option(names = "--rounds", description = "Interleaved rounds per figure (default: 3; quick: 1).")
    Integer rounds;
    @Option(names = "--trainer-steps", description = "Timed steps per trainer case and round (default: 200; quick: 20).")
    Integer trainerSteps;
    @Option(names = "--threads", defaultValue = "1", description = "Intra-op threads of the trainer and its peer (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--ingest-samples", description = "Samples per ingest run (default: 40,000; quick: 3,000).")
    Integer ingestSamples;
    @Option(names = "--footprint-samples", description = "Buffered samples for bytes per sample (default: 100,000; quick: 2,000).")
    Integer footprintSamples;
    @Option(names = "--rates", split = ",", description = "Freshness rates, samples/s (default: 100,1000,5000; quick: 100,1000).")
    List<Integer> rates;
    @Option(names = "--duration", description = "Freshness measurement per rate after its warm-up (default: PT40S; quick: PT6S).")
    Duration duration;
    @Option(names = "--snapshot-steps", description = "Freshness: the trainer publishes after this many steps (default: the trainer's default).")
    Long snapshotSteps;
    @Option(names = "--snapshot-every", description = "Freshness: ... or after this long (default: the trainer's default).")
    Duration snapshotEvery;
    @Option(names = "--commit-interval", description = "Freshness: the curator's commit.interval.ms (default: the curator's default).")
    Duration commitInterval;
    @Option(names = "--linger", description = "Freshness: the curator's linger for partial batches (default: the curator's default).")
    Duration linger;
    @Option(names = "--memory-steps", description = "Trainer steps of the memory run (default: 100,000; quick: 2,000).")
    Integer memorySteps;
    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "Fashion-MNIST for realistic pixels (default: ${DEFAULT-VALUE}; the bundled subset if absent).")
    Path data;
    @Option(names = "--torchscript", paramLabel = "FILE", description = {"Also time a user's network in the trainer section: "
            + "a TorchScript module exported by `examples/models/export.py resnet` (default widths), trained by DJL, against "
            + "the same SmallResNet in PyTorch eager (examples/models/models.py); rows 'resnet (TorchScript)'."})
    Path torchscript;
    @Option(names = "--out", defaultValue = "reports/bench-perf", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        return LogDiversion.around(out, "bench-perf.log", console, this::run);
    }

    private Integer run() throws Exception {
        PerfRun.Settings s = new PerfRun.Settings(quick, sections, bootstrapServers, python,
                openblas != null ? openblas : PerfRun.defaultOpenBlas(),
                rounds != null ? rounds : quick ? 1 : 3,
                trainerSteps != null ? trainerSteps : quick ? 20 : 200, threads,
                ingestSamples != null ? ingestSamples : quick ? 3_000 : 40_000,
                footprintSamples != null ? footprintSamples : quick ? 2_000 : 100_000,
                rates != null ? rates : quick ? List.of(100, 1000) : List.of(100, 1000, 5000),
                duration != null ? duration : quick ? Duration.ofSeconds(6) : Duration.ofSeconds(40),
                memorySteps != null ? memorySteps : quick ? 2_000 : 100_000, data, out,
                new PerfRun.Knobs(snapshotSteps, snapshotEvery, commitInterval, linger), torchscript);
        return new PerfRun(s, System.out).run();
    }
}
