package io.rehearsal.cli;

import io.rehearsal.schemas.Topics;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal curator}: the Kafka Streams curator, until Ctrl-C. */
@Command(name = "curator", mixinStandardHelpOptions = true,
        description = {"Keep the replay buffer and the view-batch recall schedule in Kafka Streams state stores,",
                "apply feedback, and emit training batches to rehearsal.train-batches. Scale out by running more",
                "instances (up to the partitions of rehearsal.samples). See docs/curator.md for the settings."})
final class CuratorCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;
    @Mixin
    OpsOptions ops;

    @Option(names = "--batch-size", defaultValue = "128", description = "B: sample views per batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--views", defaultValue = "2", description = "R: augmented views per recalled sample; 1 = plain replay (default: ${DEFAULT-VALUE}).")
    int views;
    @Option(names = "--fresh-share", defaultValue = "0.125", description = "Share of view groups for fresh samples (default: ${DEFAULT-VALUE}).")
    double freshShare;
    @Option(names = "--buffer-size", defaultValue = "2000", description = "M: class-balanced long-term buffer per model (default: ${DEFAULT-VALUE}).")
    int bufferSize;
    @Option(names = "--short-term-capacity", defaultValue = "20000", description = "Recent samples kept per model (default: ${DEFAULT-VALUE}).")
    int shortTermCapacity;
    @Option(names = "--short-term-max-age", defaultValue = "PT1H", description = "Oldest sample kept short-term (default: ${DEFAULT-VALUE}).")
    Duration shortTermMaxAge;
    @Option(names = "--k-short", defaultValue = "1", description = "K_short: recalls from short-term memory before the long-term buffer; 0 = single pass (default: ${DEFAULT-VALUE}).")
    int kShort;
    @Option(names = "--interval-growth", defaultValue = "1", description = "g: I_k = min(I_max, I_0 * g^k); 1 = fixed interval (default: ${DEFAULT-VALUE}).")
    double growth;
    @Option(names = "--base-interval", defaultValue = "0", description = "I_0 in steps; 0 = R*M/(rho_rep*B) (default: ${DEFAULT-VALUE}).")
    long baseInterval;
    @Option(names = "--max-interval", defaultValue = "0", description = "I_max in steps; 0 = 4*I_0 (default: ${DEFAULT-VALUE}).")
    long maxInterval;
    @Option(names = "--linger", defaultValue = "PT2S", description = "Emit a partial batch when the oldest fresh sample waited this long; PT0S = off (default: ${DEFAULT-VALUE}).")
    Duration linger;
    @Option(names = "--fresh-only-lag", defaultValue = "PT0S", description = "Overload: while a shard reads samples more than this after they were sent (record timestamp against the wall clock), it composes batches of fresh samples only, with no recall (rehearsal_curator_overload_batches_total): about half the curator's work per sample and a quarter of the batches with the defaults, so it catches up; recalls stay due for after. PT0S = off (default: ${DEFAULT-VALUE}).")
    Duration freshOnlyLag;
    @Option(names = "--eval-every-steps", defaultValue = "50", description = "Emit the held-out eval set every this many batches; 0 = never (default: ${DEFAULT-VALUE}).")
    long evalEvery;
    @Option(names = "--input-shape", defaultValue = "1,28,28", split = ",", description = "Shape of one input; a sample must have as many features (1,28,28: 784) (default: ${DEFAULT-VALUE}).")
    int[] inputShape;
    @Option(names = "--model-id", defaultValue = CuratorSettings.DEFAULT_MODEL_ID, split = ",",
            description = {"Models to curate (repeat, or separate with commas), all with --input-shape and --classes;",
                    "samples for any other model id go to the dead letters as UNKNOWN_MODEL (default: ${DEFAULT-VALUE})."})
    List<String> modelIds;
    @Option(names = "--accept-any-model", description = {"Curate samples of every model id, up to --max-models per shard",
            "(development: a typo in a producer's modelId then starts a new model)."})
    boolean acceptAnyModel;
    @Option(names = "--max-models", defaultValue = "" + CuratorSettings.DEFAULT_MAX_MODELS,
            description = "With --accept-any-model: the most model ids one shard holds (default: ${DEFAULT-VALUE}).")
    int maxModels;
    @Option(names = "--classes", defaultValue = "10", description = "Labels must be in [0, classes) (default: ${DEFAULT-VALUE}).")
    int classes;
    @Option(names = "--pending-capacity", defaultValue = "10000", description = "Feedback records that may wait for their samples, per shard; more go to the dead letters as FEEDBACK_OVERFLOW (default: ${DEFAULT-VALUE}).")
    int pendingCapacity;
    @Option(names = "--pending-expiry", defaultValue = "PT1H", description = "How long feedback waits for its sample (stream time) before FEEDBACK_EXPIRED (default: ${DEFAULT-VALUE}).")
    Duration pendingExpiry;
    @Option(names = "--recall-corrections", description = {"Recall a trained sample as soon as a LABEL correction comes, ahead of every "
            + "other recall (by default it keeps its place and schedule, and its next recall carries the new label:",
            "at 10%% flipped labels corrected 1,000 samples late the extra visit cost old tasks more than it won; docs/curator.md)."})
    boolean recallCorrections;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of reservoir sampling and jitter (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--state-dir", description = "Kafka Streams state directory (default: Kafka Streams' own, /tmp/kafka-streams).")
    String stateDir;
    @Option(names = "--standby-replicas", defaultValue = "0", description = "Warm copies of each shard's stores on other curator "
            + "instances (Kafka Streams' num.standby.replicas), so that a shard moved by a rebalance or a lost instance serves "
            + "within seconds instead of after restoring its changelog (default: ${DEFAULT-VALUE}; a num.standby.replicas in "
            + "--kafka-config wins).")
    int standbyReplicas;

    @Override
    public Integer call() throws InterruptedException {
        CuratorSettings settings = settings();
        Topics topics = kafka.topics();
        Map<String, Object> props = new LinkedHashMap<>(kafka.clientProperties());
        props.putIfAbsent(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, standbyReplicas);
        if (stateDir != null) {
            props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        }
        try (ComponentRuntime runtime = ComponentRuntime.create("curator");
             CuratorApp app = new CuratorApp(settings, topics, props, runtime.registry())) {
            StopOnSignal stopped = StopOnSignal.install("curator", app::close);
            app.start();
            runtime.serve(ops, () -> app.state() == KafkaStreams.State.RUNNING);
            while (!stopped.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
                KafkaStreams.State state = app.state();
                if (!stopped.signalled() && (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING)) {
                    System.err.println("curator stopped in state " + state + "; see the log above");
                    return 1;
                }
            }
        }
        return 0;
    }

    CuratorSettings settings() {
        return CuratorSettings.defaults()
                .optBatchSize(batchSize).optViews(views).optFreshShare(freshShare)
                .optLongTermCapacity(bufferSize).optShortTermCapacity(shortTermCapacity).optShortTermMaxAge(shortTermMaxAge)
                .optShortTermRecalls(kShort).optIntervalGrowth(growth).optBaseInterval(baseInterval).optMaxInterval(maxInterval)
                .optLinger(linger).optFreshOnlyLag(freshOnlyLag).optEvalEverySteps(evalEvery)
                .optPendingCapacity(pendingCapacity).optPendingExpiry(pendingExpiry).optRecallCorrections(recallCorrections)
                .optContract(new ModelContract(Arrays.stream(inputShape).boxed().toList(), classes))
                .optAcceptAnyModel(acceptAnyModel).optModelIds(Set.copyOf(modelIds)).optMaxModels(maxModels)
                .optInputPartitions(kafka.partitions).optSeed(seed);
    }
}
