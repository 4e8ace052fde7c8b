package io.rehearsal.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.bench.experiment.ExperimentSpec;
import io.rehearsal.bench.experiment.InProcessExperiment;
import io.rehearsal.bench.experiment.KafkaExperiment;
import io.rehearsal.bench.experiment.Progress;
import io.rehearsal.bench.console.Bars;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import io.rehearsal.schemas.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal bench cl}: the configurations of {@link ClConfig}, same stream, same compute, several seeds. */
@Command(name = "cl", mixinStandardHelpOptions = true,
        description = {"Continual-learning benchmark on class-incremental Split Fashion-MNIST (5 tasks of 2 classes):",
                "fine-tuning, experience replay, view-batch replay (R = 2, 4; fixed or spaced intervals), each with",
                "or without view self-supervision, and the joint-training upper bound, at the same number of steps",
                "and sample views. Writes a markdown table, CSV, JSON and plots."})
public final class BenchClCommand implements Callable<Integer> {
    @Option(names = "--configs", split = ",", defaultValue = "finetune,er,vb2,vb2+ssl,vb4,vb4+ssl,vb4-spaced,vb4-spaced+ssl,joint",
            description = "Configurations (default: ${DEFAULT-VALUE}).")
    List<String> configs;
    @Option(names = "--buffers", split = ",", defaultValue = "200,500", description = "Long-term buffer sizes M (default: ${DEFAULT-VALUE}).")
    List<Integer> buffers;
    @Option(names = "--seeds", split = ",", defaultValue = "1,2,3", description = "Seeds (default: ${DEFAULT-VALUE}).")
    List<Long> seeds;
    @Option(names = "--batch-size", defaultValue = "128", description = "B: sample views per step (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--fresh-per-batch", defaultValue = "8", description = "F: fresh samples per step (default: ${DEFAULT-VALUE}).")
    int freshPerBatch;
    @Option(names = "--views-per-sample", defaultValue = "4", description = "V: views each fresh sample gets while short-term; K_short = V/R - 1 (default: ${DEFAULT-VALUE}).")
    int viewsPerSample;
    @Option(names = "--arch", defaultValue = "mlp", description = "mlp, cnn, or torchscript:FILE (your own network, a TorchScript module taking [N, 1, 28, 28]; its initial weights are the file's, so seeds vary the stream and augmentations only; see docs/byo-models.md) (default: ${DEFAULT-VALUE}).")
    String arch;
    @Option(names = "--hidden", defaultValue = "256,256", description = "mlp hidden widths (default: ${DEFAULT-VALUE}).")
    String hidden;
    @Option(names = "--lr", defaultValue = "0.02", description = "SGD learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;
    @Option(names = "--ssl-lambda", defaultValue = "1.0", description = "Consistency-loss weight of the +ssl configurations (default: ${DEFAULT-VALUE}).")
    float sslLambda;
    @Option(names = "--max-train-per-task", defaultValue = "0", description = "Cut each task's training images (0 = all 12,000).")
    int maxTrainPerTask;
    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist", description = "Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path data;
    @Option(names = "--out", defaultValue = "reports/bench-cl", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = "--validation", defaultValue = "0", paramLabel = "N",
            description = "Validation protocol for tuning: each task's held-out images are N of its training images "
                    + "(removed from the stream); the test set is not touched. 0 = off: report on the test set (default).")
    int validationPerTask;
    @Option(names = "--long-term-share", description = "Override: share of recall groups offered first to the long-term buffer.")
    Double longTermShare;
    @Option(names = "--base-interval", description = "Override: I_0 in steps (0 = auto, R M / (rho_rep B)).")
    Long baseInterval;
    @Option(names = "--max-interval", description = "Override: I_max in steps (0 = auto, 4 I_0).")
    Long maxInterval;
    @Option(names = "--min-interval", description = "Override: I_min in steps.")
    Long minInterval;
    @Option(names = "--fill-recalls", arity = "1", description = "Override: fill empty recall groups with the soonest-due entries (the benchmark's default: true).")
    Boolean fillRecalls;
    @Option(names = "--weak-shift", description = "Override: anchor shift (pixels).")
    Integer weakShift;
    @Option(names = "--strong-shift", description = "Override: other views' shift (pixels).")
    Integer strongShift;
    @Option(names = "--noise", description = "Override: other views' Gaussian noise std.")
    Float noiseStd;
    @Option(names = "--erase", description = "Override: other views' erasing probability.")
    Float eraseProbability;
    @Option(names = "--erase-max", description = "Override: largest erased side as a fraction of the image side.")
    Float eraseMaxFraction;
    @Option(names = "--warmup", description = "Override: steps before the consistency loss starts.")
    Long warmupSteps;
    @Option(names = "--ramp", description = "Override: steps over which the consistency loss rises to lambda.")
    Long rampSteps;
    @Option(names = "--momentum", description = "Override: SGD momentum.")
    Float momentum;
    @Option(names = "--weight-decay", description = "Override: L2 weight decay.")
    Float weightDecay;
    @Option(names = "--class-balanced", arity = "1", description = "Override: class-balanced cross-entropy in the trainer.")
    Boolean classBalanced;
    @Option(names = "--through-kafka", description = {"Run every configuration through real topics: an embedded broker "
            + "(or --bootstrap-servers), CuratorApp and TrainerApp as in production; the producer waits at each task boundary "
            + "until a snapshot covers everything streamed, and that snapshot is evaluated. Slower; same numbers expected."})
    boolean throughKafka;
    @Option(names = "--bootstrap-servers", description = "With --through-kafka: use this cluster instead of an embedded broker.")
    String bootstrapServers;
    @Option(names = "--quick", description = "A small version (one seed, 1,000 images per task, er and vb4 only, M = 200) that checks the machinery.")
    boolean quick;
    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        if (quick) {
            configs = List.of("er", "vb4");
            buffers = List.of(200);
            seeds = List.of(1L);
            maxTrainPerTask = maxTrainPerTask == 0 ? 1000 : maxTrainPerTask;
        }
        Files.createDirectories(out);
        Bars bars = Bars.onStdout();
        try (LogDiversion logs = LogDiversion.start(out.resolve("bench-cl.log"), bars.out(), console.verbose())) {
            return run(bars);
        }
    }

    private int run(Bars bars) throws Exception {
        FashionMnist.Data dataset = FashionMnist.load(data);
        ClTuning tuning = new ClTuning(longTermShare, baseInterval, maxInterval, minInterval, fillRecalls, weakShift,
                strongShift, noiseStd, eraseProbability, eraseMaxFraction, warmupSteps, rampSteps, momentum, weightDecay,
                classBalanced);
        ClConfig.Budget budget = new ClConfig.Budget(batchSize, freshPerBatch, viewsPerSample, arch, hidden, learningRate,
                200, 100, maxTrainPerTask, validationPerTask, tuning);
        bars.out().printf("rehearsal bench cl: %s, %d configurations x %d buffers x %d seeds, B=%d, F=%d fresh/step, V=%d views/fresh sample%s%n",
                dataset.source(), configs.size(), buffers.size(), seeds.size(), batchSize, freshPerBatch, viewsPerSample,
                (validationPerTask > 0 ? ", VALIDATION protocol (" + validationPerTask + " training images per task held out; test set unused)" : "")
                        + (throughKafka ? ", through Kafka" : ", in process"));
        List<ClBenchReport.Row> rows = new ArrayList<>();
        EmbeddedKafkaBroker broker = null;
        String bootstrap = bootstrapServers;
        if (throughKafka && bootstrap == null) {
            broker = EmbeddedKafkaBroker.builder().build().start();
            bootstrap = broker.bootstrapServers();
        }
        try {
            run(dataset, budget, rows, throughKafka ? bootstrap : null, bars);
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
        ClBenchReport report = new ClBenchReport(budget, dataset.source(), throughKafka, rows);
        report.write(out);
        bars.out().println();
        bars.out().println(report.markdownTable());
        bars.out().println("report: " + out.resolve("bench-cl.md") + " (also .csv, .json, and PNG plots)");
        return 0;
    }

    private void run(FashionMnist.Data dataset, ClConfig.Budget budget, List<ClBenchReport.Row> rows, String bootstrap, Bars bars)
            throws Exception {
        for (String name : configs) {
            ClConfig config = ClConfig.named(name, sslLambda);
            for (int buffer : config.joint() ? List.of(buffers.get(0)) : buffers) {
                for (long seed : seeds) {
                    ExperimentSpec spec = config.spec(budget, buffer, seed);
                    ClassIncrementalStream stream = ClassIncrementalStream.build(dataset, spec.stream());
                    String label = String.format("%-18s seed %d", spec.name(), seed);
                    ExperimentResult r;
                    if (bootstrap == null) {
                        try (ClProgress progress = new ClProgress(bars, label, stream.events().size(), "events")) {
                            r = InProcessExperiment.run(stream, spec, progress);
                        }
                    } else {
                        long samples = stream.events().stream().filter(e -> e instanceof ClassIncrementalStream.SampleEvent).count();
                        try (ClProgress progress = new ClProgress(bars, label, samples, "samples")) {
                            r = throughKafka(stream, spec, bootstrap, rows.size(), progress);
                        }
                    }
                    bars.out().printf("  %-22s seed %d: final accuracy %5.1f%%  forgetting %5.1f  prequential %5.1f%%  "
                                    + "%d steps, %d views, %.0f s%n", spec.name(), seed, 100 * r.finalAccuracy(),
                            100 * r.forgetting(), 100 * r.prequential(), r.steps(), r.views(), r.seconds());
                    rows.add(new ClBenchReport.Row(config, config.joint() ? 0 : buffer, seed, spec, r));
                }
            }
        }
    }

    /** One run through real topics, each with its own topic prefix and curator state. */
    private static ExperimentResult throughKafka(ClassIncrementalStream stream, ExperimentSpec spec, String bootstrap, int index,
                                                 Progress progress) throws Exception {
        Topics topics = new Topics("bench-cl-" + ProcessHandle.current().pid() + "-" + index, 1);
        Path state = Files.createTempDirectory("rehearsal-bench-state-");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try {
            return KafkaExperiment.run(stream, spec, new KafkaExperiment.Target(
                            Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap), topics, state),
                    registry, progress, KafkaExperiment.Finish.NONE);
        } finally {
            registry.close();
        }
    }
}
