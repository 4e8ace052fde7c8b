package io.rehearsal.bench.demo;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.cli.KafkaOptions;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.bench.data.PoisonedBurst;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.bench.experiment.ExperimentSpec;
import io.rehearsal.bench.experiment.KafkaExperiment;
import io.rehearsal.bench.console.Bars;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import io.rehearsal.cli.ops.MetricsRegistry;
import io.rehearsal.cli.ops.OpsServer;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rehearsal demo}: the whole system in one process on a fresh machine — an embedded Kafka
 * broker, the curator, the trainer — learning class-incremental Split Fashion-MNIST from a stream with
 * noisy labels and human feedback, and a report at the end.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Stream class-incremental Split Fashion-MNIST (5 tasks of 2 classes) through Kafka into the curator",
                "and the trainer, with simulated people: a share of labels flipped, part of them corrected by feedback",
                "later; a promoter guards what the predictor serves. Prints progress per task and, at the end, the",
                "accuracy matrix, forgetting, prequential accuracy, feedback learned and the promotions; writes demo.md,",
                "demo.json, demo.png and demo-promotion.png (candidate vs promoted accuracy). --poison adds a burst of",
                "wrong labels after the tasks."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--bootstrap-servers", description = "Use this Kafka cluster instead of starting one in-process.")
    String bootstrapServers;
    @Option(names = "--kafka-config", description = {"Kafka client properties of that cluster (security.protocol, sasl.*, ssl.*, ...),",
            "as every component takes them; REHEARSAL_KAFKA_<PROPERTY> variables apply too. Implies an external cluster."})
    Path kafkaConfig;
    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}; the bundled subset if absent).")
    Path data;
    @Option(names = "--out", description = "Report directory (default: reports/demo-<time>).")
    Path out;
    @Option(names = "--max-train-per-task", defaultValue = "0", description = "Cut each task's training images (0 = all).")
    int maxTrainPerTask;
    @Option(names = "--buffer-size", defaultValue = "500", description = "M: the long-term buffer (default: ${DEFAULT-VALUE}).")
    int bufferSize;
    @Option(names = "--label-noise", defaultValue = "0.1", description = "Share of training labels flipped (default: ${DEFAULT-VALUE}).")
    double labelNoise;
    @Option(names = "--corrected", defaultValue = "0.5", description = "Share of flipped labels corrected by feedback (default: ${DEFAULT-VALUE}).")
    double corrected;
    @Option(names = "--feedback-delay", defaultValue = "1000", description = "Samples between a flipped sample and its correction (default: ${DEFAULT-VALUE}).")
    int feedbackDelay;
    @Option(names = "--requests", defaultValue = "0.02", description = "Share of training images sent unlabeled: the predictor answers them, feedback labels them later (default: ${DEFAULT-VALUE}).")
    double requests;
    @Option(names = "--metrics-port", defaultValue = "9400", description = "Port of /metrics, /health, /ready (default: ${DEFAULT-VALUE}).")
    int metricsPort;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the stream, the curator and the model (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--poison", description = {"After the tasks, a burst of wrong labels: half of --poison-class's labels flipped to",
            "--poison-target, then rejected by feedback; the promoter refuses the candidates that forget it (docs/lifecycle.md)."})
    boolean poison;
    @Option(names = "--poison-class", defaultValue = "1", description = "The class whose labels the burst flips (default: ${DEFAULT-VALUE}, Trouser).")
    int poisonClass;
    @Option(names = "--poison-target", defaultValue = "0", description = "The label they get instead (default: ${DEFAULT-VALUE}, T-shirt/top).")
    int poisonTarget;
    @Option(names = "--poison-samples", defaultValue = "4000", description = "Samples in the burst, and again in the clean tail after it (default: ${DEFAULT-VALUE}).")
    int poisonSamples;
    @Option(names = "--eval-every-steps", defaultValue = "200",
            description = "The curator evaluates the held-out samples every this many steps (default: ${DEFAULT-VALUE}, the production default).")
    long evalEverySteps;
    @Option(names = "--topic-prefix", description = {"Prefix of the demo's topics and of its curator's application id (default: "
            + "rehearsal on the embedded broker;", "on your cluster a new one per run, rehearsal-demo-<time>, so that every run starts from "
            + "nothing, with the demo's one input partition)."})
    String topicPrefix;
    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        Path dir = out != null ? out : Path.of("reports", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Bars bars = Bars.onStdout();
        try (LogDiversion logs = LogDiversion.start(dir.resolve("demo.log"), bars.out(), console.verbose())) {
            return run(dir, bars, logs);
        }
    }

    private int run(Path dir, Bars bars, LogDiversion logs) throws Exception {
        FashionMnist.Data dataset = FashionMnist.load(data);
        ClassIncrementalStream.Settings streamSettings = streamSettings();
        ClassIncrementalStream stream = ClassIncrementalStream.build(dataset, streamSettings, java.time.Instant.now());
        Map<Integer, String> marks = new LinkedHashMap<>();
        if (poison) {
            PoisonedBurst burst = PoisonedBurst.of(poisonClass, poisonTarget, poisonSamples, seed);
            marks.put(stream.events().size(), "burst");
            List<ClassIncrementalStream.Event> more = burst.events(dataset, stream, java.time.Instant.now().plusMillis(stream.events().size()));
            int tail = 0;
            while (tail < more.size() && !(more.get(tail) instanceof SampleEvent s && s.sample().getSource().equals("tail"))) {
                tail++;
            }
            marks.put(stream.events().size() + tail, "clean tail");
            stream = stream.followedBy(more);
        }
        ExperimentSpec spec = spec(streamSettings);
        long trainSamples = stream.events().stream().filter(e -> e instanceof SampleEvent s && s.sample().getLabel() != null
                && s.sample().getSplit() == io.rehearsal.schemas.avro.Split.TRAIN).count();

        EmbeddedKafkaBroker broker = null;
        // the curator's state under the report directory (Kafka Streams warns about OS temp directories), removed at the end
        Path stateDir = Files.createDirectories(dir.resolve("curator-state"));
        PrometheusMeterRegistry registry = MetricsRegistry.create("demo");
        try (OpsServer ops = OpsServer.start("0.0.0.0", metricsPort, registry, () -> true)) {
            Map<String, Object> props = externalCluster().orElse(null);
            if (props == null) {
                broker = EmbeddedKafkaBroker.builder().build().start();
                props = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            }
            String bootstrap = (String) props.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
            bars.out().printf("%nrehearsal demo: %s, %,d training samples in 5 tasks; %.0f%% of labels flipped, %.0f%% of those "
                            + "corrected %,d samples later; %.0f%% sent unlabeled%n", dataset.source(), trainSamples, 100 * labelNoise,
                    100 * corrected, feedbackDelay, 100 * requests);
            Topics topics = new Topics(topicPrefix != null ? topicPrefix : broker != null ? Topics.DEFAULT_PREFIX
                    : "rehearsal-demo-" + dir.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "-"), 1);
            try (Admin admin = Admin.create(props)) {
                new TopicAdmin(admin).ensure(topics.all()); // before the predictor starts following model-updates
            }
            bars.out().printf("Kafka: %s at %s, topics %s.* | metrics: http://localhost:%d/metrics | report: %s%s%n%n",
                    broker != null ? "embedded broker" : "your cluster", bootstrap, topics.prefix(), ops.port(), dir,
                    logs.file() == null ? "" : " | logs: " + logs.file());
            List<Integer> learned = new ArrayList<>();
            ExperimentResult result;
            ClassIncrementalStream streamed = stream;
            PromotionTrack track;
            // the promoter guards what services get; the predictor serves what it promotes and answers the unlabeled
            // requests on the samples topic, as a deployed service would; a subscriber of the latest candidate beside
            // it shows what services would get without the guardrail
            try (DemoConsole progress = new DemoConsole(bars);
                 Promoter promoter = Promoter.start(PromoterSettings.builder(spec.trainer().modelId()).build(), topics, bootstrap,
                    props, registry);
                 PredictionService predictor = new PredictionService(PredictorSettings.builder(
                    SubscriberSettings.builder(spec.trainer().modelId()).optStartTimeout(Duration.ofMillis(100)).build()).build(),
                    topics, bootstrap, props, registry);
                 ModelSubscriber latest = ModelSubscriber.start(SubscriberSettings.builder(spec.trainer().modelId())
                         .optFollow(Follow.LATEST).optStartTimeout(Duration.ofMillis(100)).build(), topics, bootstrap, props,
                         new io.micrometer.core.instrument.simple.SimpleMeterRegistry())) {
                predictor.start();
                track = new PromotionTrack(progress, streamed, 200, latest, predictor.subscriber(), marks);
                try (track) {
                    result = KafkaExperiment.run(streamed, spec, new KafkaExperiment.Target(props, topics, stateDir),
                            registry, track, model -> learned.addAll(feedbackLearned(streamed, model)));
                }
            }
            DemoReport report = new DemoReport(result, dataset.source(), settings(spec), trainSamples,
                    ratio(learned.get(0), learned.get(1)), learned.get(1), ratio(learned.get(2), learned.get(3)), learned.get(3),
                    (long) registry.get("rehearsal.trainer.snapshot.version").gauge().value(),
                    (long) registry.find("rehearsal.predictor.predictions").counters().stream().mapToDouble(c -> c.count()).sum(),
                    trainSamples / result.seconds());
            report.write(dir);
            String promotions;
            try (PromotionReader reader = PromotionReader.create(topics, bootstrap, props, Duration.ofSeconds(30), Optional.empty())) {
                promotions = PromotionTrack.markdown(reader.history(spec.trainer().modelId()), "demo-promotion.png",
                        poison ? OptionalInt.of(poisonClass) : OptionalInt.empty());
            }
            track.plot(dir.resolve("demo-promotion.png"));
            Files.writeString(dir.resolve("demo.md"), promotions, StandardOpenOption.APPEND);
            bars.out().println();
            bars.out().println(report.summary());
            bars.out().println("Report: " + dir.resolve("demo.md") + " (with every setting and the promotions), "
                    + dir.resolve("demo.json") + ", " + dir.resolve("demo.png") + ", " + dir.resolve("demo-promotion.png"));
            if (broker == null) {
                bars.out().printf("The model's learning report from its snapshots: rehearsal report --model-id %s --topic-prefix %s "
                        + "--bootstrap-servers %s%n", spec.trainer().modelId(), topics.prefix(), bootstrap);
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
            registry.close();
            deleteRecursively(stateDir);
        }
        return 0;
    }

    /**
     * The client properties of the cluster to use, when one is given ({@code --bootstrap-servers} or
     * {@code --kafka-config}): resolved like every component's (file, then REHEARSAL_KAFKA_* variables, then
     * the flag), so TLS and SASL work; empty when the demo starts its own broker.
     */
    java.util.Optional<Map<String, Object>> externalCluster() {
        if (bootstrapServers == null && kafkaConfig == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(KafkaOptions.clientProperties(kafkaConfig, bootstrapServers));
    }

    /** The demo's stream: class-incremental Split Fashion-MNIST with the simulated people of the options. */
    public ClassIncrementalStream.Settings streamSettings() {
        return ClassIncrementalStream.Settings.splitFashionMnist(seed)
                .withMaxTrainPerTask(maxTrainPerTask).withNoise(labelNoise, corrected, feedbackDelay).withRequests(requests);
    }

    /**
     * The production defaults, with the demo's buffer size and quick snapshots, and batches composed by stream position
     * alone: no linger (a wall-clock wait that would let a partial batch out wherever the curator happens to stall), so
     * the batches, hence the model, are those of the same stream in process, however the run is timed. What that leaves
     * out: the last fresh samples of the stream (fewer than a batch's share) and corrections that come after its last
     * sample are never trained, where a live curator's linger would train them once traffic stops.
     */
    public ExperimentSpec spec(ClassIncrementalStream.Settings stream) {
        CuratorSettings curator = CuratorSettings.defaults()
                .optLinger(Duration.ZERO)
                .optEvalEverySteps(evalEverySteps)
                .optLongTermCapacity(bufferSize)
                .optContract(new ModelContract(List.of(1, 28, 28), 10))
                .optModelIds(stream.modelId())
                .optSeed(seed);
        TrainerSettings trainer = TrainerSettings.builder(stream.modelId(), new ModelSpec(ModelSpec.MLP, List.of(1, 28, 28), 10, Map.of()))
                .optSeed(seed)
                .optSnapshotEvery(100, Duration.ofSeconds(2))
                .optBufferSize(bufferSize)
                .build();
        return new ExperimentSpec("demo", stream, curator, trainer, 0, 300);
    }

    private static Map<String, String> settings(ExperimentSpec spec) {
        Map<String, String> m = new LinkedHashMap<>();
        spec.curator().describe().forEach((k, v) -> m.put("curator." + k, v));
        spec.trainer().toProvenance().forEach((k, v) -> m.put("trainer." + k, v));
        return m;
    }

    /** [corrected and now right, corrected, uncorrected flips now right, uncorrected flips]. */
    private static List<Integer> feedbackLearned(ClassIncrementalStream stream, java.util.function.Function<List<float[]>, int[]> model) {
        java.util.Set<String> correctedIds = new java.util.HashSet<>();
        stream.events().forEach(e -> {
            if (e instanceof ClassIncrementalStream.FeedbackEvent f) {
                correctedIds.add(f.key());
            }
        });
        List<float[]> corrected = new ArrayList<>();
        List<Integer> correctedLabels = new ArrayList<>();
        List<float[]> uncorrected = new ArrayList<>();
        List<Integer> uncorrectedLabels = new ArrayList<>();
        for (var e : stream.events()) {
            if (e instanceof SampleEvent s && s.flipped()) {
                float[] x = FeatureTensor.toFloats(s.sample().getFeatures());
                if (correctedIds.contains(s.key())) {
                    corrected.add(x);
                    correctedLabels.add(s.trueLabel());
                } else {
                    uncorrected.add(x);
                    uncorrectedLabels.add(s.trueLabel());
                }
            }
        }
        return List.of(hits(model, corrected, correctedLabels), corrected.size(), hits(model, uncorrected, uncorrectedLabels),
                uncorrected.size());
    }

    private static int hits(java.util.function.Function<List<float[]>, int[]> model, List<float[]> x, List<Integer> y) {
        if (x.isEmpty()) {
            return 0;
        }
        int[] p = model.apply(x);
        int n = 0;
        for (int i = 0; i < p.length; i++) {
            n += p[i] == y.get(i) ? 1 : 0;
        }
        return n;
    }

    private static void deleteRecursively(Path root) throws java.io.IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static double ratio(int a, int b) {
        return b == 0 ? Double.NaN : (double) a / b;
    }
}
