package io.rehearsal.cli;

import io.rehearsal.models.features.FeatureCacheSettings;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.train.OptimizerKind;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerLease;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal trainer}: one model's trainer, until Ctrl-C. */
@Command(name = "trainer", mixinStandardHelpOptions = true,
        description = {"Train one model from rehearsal.train-batches and publish snapshots to rehearsal.model-updates,",
                "each committed in one transaction with the batch offsets it covers. One trainer per model:",
                "a second one with the same --model-id fences the first; with --standby, several wait in turn",
                "and one trains."})
final class TrainerCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;
    @Mixin
    OpsOptions ops;
    @Mixin
    SnapshotKeyOptions key;

    @Option(names = "--model-id", defaultValue = "default", description = "Model to train (default: ${DEFAULT-VALUE}).")
    String modelId;

    @Option(names = "--arch", defaultValue = "mlp", description = "Architecture: mlp, cnn, or torchscript:FILE, your own network as a TorchScript module (torch.jit.script(module).save(FILE)) that maps a batch shaped [N, --input-shape] to logits over --classes; see docs/byo-models.md (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--input-shape", defaultValue = "1,28,28", split = ",", description = "Shape of one sample (default: ${DEFAULT-VALUE}).")
    int[] inputShape;

    @Option(names = "--classes", defaultValue = "10", description = "Number of classes of the single head (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--hidden", defaultValue = "256,256", description = "mlp hidden widths (default: ${DEFAULT-VALUE}).")
    String hidden;

    @Option(names = "--optimizer", defaultValue = "SGD", description = "SGD (with momentum) or ADAM (default: ${DEFAULT-VALUE}).")
    OptimizerKind optimizer;

    @Option(names = "--lr", defaultValue = "0.02", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    float learningRate;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum; 0 = plain SGD. The momentum buffers (and Adam's moments) are saved in every snapshot, so a resumed trainer continues bit-identically (default: ${DEFAULT-VALUE}).")
    float momentum;

    @Option(names = "--lambda", defaultValue = "1.0", description = "Weight of the view-consistency KL term (default: ${DEFAULT-VALUE}).")
    float lambda;

    @Option(names = "--warmup-steps", defaultValue = "100", description = "Steps before the KL term ramps in (default: ${DEFAULT-VALUE}).")
    long warmupSteps;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of initialization and augmentation (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", defaultValue = "1", description = "PyTorch intra-op threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--snapshot-every-steps", defaultValue = "50", description = "Publish after this many steps... (default: ${DEFAULT-VALUE})")
    long snapshotSteps;

    @Option(names = "--snapshot-every", defaultValue = "PT0.5S", description = "...or after this long, whichever first (ISO-8601, default: ${DEFAULT-VALUE}).")
    Duration snapshotEvery;

    @Option(names = "--features-memory-mb", defaultValue = "256", description = "Features of the samples batches may still name kept in memory, in MiB; beyond, the oldest go to a disk tier (RocksDB) (default: ${DEFAULT-VALUE}).")
    long featuresMemoryMb;

    @Option(names = "--features-dir", description = "Directory of the feature cache's disk tier, wiped at start (default: a directory under java.io.tmpdir).")
    java.nio.file.Path featuresDir;

    @Option(names = "--features-wait", defaultValue = "PT60S", description = "Longest a batch waits for features not read yet; items still without them are left out with a FEATURES_MISSING dead letter (ISO-8601, default: ${DEFAULT-VALUE}).")
    Duration featuresWait;

    @Option(names = "--max-batch-age", defaultValue = "PT0S", description = "Overload: a TRAIN batch older than this when read is not trained, only counted (rehearsal_trainer_batches_shed_total) and covered, so freshness stays bounded when samples come faster than the trainer trains; its fresh samples stay in the curator's buffer and come back as recalls. PT0S: every batch is trained (ISO-8601, default: ${DEFAULT-VALUE}).")
    Duration maxBatchAge;

    @Option(names = "--recall-shed-age", defaultValue = "PT0S", description = "Overload, fresh first: a TRAIN batch older than this when read (and not past --max-batch-age) is trained on its fresh items only, packed with those of other late batches into steps of a batch's views; its recalls are shed (rehearsal_trainer_batches_packed_total). The trainer catches up about 1/(fresh share) times faster and every fresh sample still gets its fresh visit. PT0S: off (ISO-8601, default: ${DEFAULT-VALUE}).")
    Duration recallShedAge;

    @Option(names = "--buffer-size", defaultValue = "0", description = "The curator's long-term buffer size, for provenance (0 = unknown).")
    int bufferSize;

    @Option(names = "--standby", description = "One of several trainers of this model (active and standbys): train only while "
            + "holding the model's lease (consumer group <group>-lease), wait warm otherwise (following the features topic), and "
            + "take over when the holder stops or dies. The taking over fences the old trainer's transactional id and resumes "
            + "from the newest verified snapshot.")
    boolean standby;

    @Option(names = "--lease-session-timeout", defaultValue = "PT10S", description = "With --standby: how long a silent holder "
            + "(killed, its node gone) keeps the lease before a standby takes over (ISO-8601, at least the broker's "
            + "group.min.session.timeout.ms, 6 s by default; default: ${DEFAULT-VALUE}).")
    Duration leaseSessionTimeout;

    @Override
    public Integer call() {
        java.util.Optional<TorchScriptModule> module = TorchScriptModule.fromArch(arch);
        TrainerSettings settings = TrainerSettings.builder(modelId, spec(module))
                .optOptimizer(optimizer, learningRate)
                .optMomentum(momentum)
                .optLambda(lambda, warmupSteps, 100)
                .optSeed(seed)
                .optThreads(threads, 1)
                .optSnapshotEvery(snapshotSteps, snapshotEvery)
                .optBufferSize(bufferSize)
                .optSigningKey(key.key().orElse(null))
                .optFeatureCache(new FeatureCacheSettings(featuresMemoryMb << 20, java.util.Optional.ofNullable(featuresDir),
                        featuresWait))
                .optMaxBatchAge(maxBatchAge)
                .optRecallShedAge(recallShedAge)
                .optModule(module.orElse(null))
                .build();
        Topics topics = kafka.topics();
        ComponentRuntime.ensureTopics(kafka, ops, List.of(topics.trainBatches(), topics.features(), topics.modelUpdates(),
                topics.modelChunks(), topics.deadLetters()));
        String bootstrap = (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        // SIGTERM (Kubernetes, Ctrl-C): the hook asks the loop to stop and waits (StopOnSignal's budget) until the
        // loop has published its final snapshot and the clients are closed, i.e. until `closed` opens. Not a join
        // on this thread: it goes on into System.exit, which blocks while hooks run, so a join always waited out
        // its whole timeout (the trainer took ~31 s to stop).
        CountDownLatch closed = new CountDownLatch(1);
        CountDownLatch ran = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean stopRequested = new java.util.concurrent.atomic.AtomicBoolean();
        try (ComponentRuntime runtime = ComponentRuntime.create("trainer");
             TrainerApp app = new TrainerApp(settings, topics, bootstrap, kafka.clientProperties(), runtime.registry())) {
            StopOnSignal.install("trainer", () -> {
                stopRequested.set(true);
                app.stop();
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            runtime.serve(ops, () -> true);
            if (!standby) {
                app.run();
                return 0;
            }
            // after the model is built and libtorch loaded: a standby waits warm
            try (TrainerLease lease = new TrainerLease(settings, topics, bootstrap, kafka.clientProperties(), leaseSessionTimeout)) {
                // the lease moves on when this returns: after the last snapshot is published (or given up)
                lease.onLost(() -> {
                    app.stop();
                    awaitQuietly(ran, Duration.ofSeconds(60));
                }).start();
                org.slf4j.LoggerFactory.getLogger(TrainerCommand.class).info(
                        "trainer of model {}: standby, waiting for the lease (group {})", modelId, lease.group());
                // while it waits, it keeps its feature cache current: a takeover does not begin by reading the topic
                while (!lease.held()) {
                    if (stopRequested.get() || Thread.currentThread().isInterrupted()) {
                        return 0;
                    }
                    if (app.followFeatures(Duration.ofMillis(100))) {
                        lease.warm(); // preferred over a trainer that has not read the features yet
                    }
                }
                try {
                    app.run();
                } finally {
                    ran.countDown();
                }
            }
        } finally {
            closed.countDown();
        }
        return 0;
    }

    private static void awaitQuietly(CountDownLatch latch, Duration timeout) {
        try {
            latch.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    ModelSpec spec() {
        return spec(TorchScriptModule.fromArch(arch));
    }

    private ModelSpec spec(java.util.Optional<TorchScriptModule> module) {
        List<Integer> shape = Arrays.stream(inputShape).boxed().toList();
        if (module.isPresent()) {
            return module.get().spec(shape, classes, java.util.Map.of());
        }
        ModelSpec spec = new ModelSpec(arch, shape, classes, java.util.Map.of());
        return arch.equals(ModelSpec.MLP) ? spec.withOption("hidden", hidden) : spec;
    }
}
