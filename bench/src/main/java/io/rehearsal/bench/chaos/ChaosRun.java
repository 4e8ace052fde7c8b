package io.rehearsal.bench.chaos;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.broker.EmbeddedKafkaCluster;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.bench.experiment.CatchUp;
import io.rehearsal.bench.experiment.KafkaExperiment;
import io.rehearsal.bench.experiment.TaskEvaluator;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The chaos controller. It starts a broker in this JVM, produces the whole stream to {@code samples} and
 * {@code feedback} (up front, so the curator's input order is the same in every run and a chaos run can
 * be compared batch for batch with a clean one), then runs {@code rehearsal curator} and {@code rehearsal
 * trainer} as child processes and carries out a {@link ChaosPlan}: SIGKILLs of the trainer (while it
 * trains, inside an open snapshot transaction, during its start) and of the curator, and broker restarts,
 * restarting each killed process at once as a supervisor would. When the plan is done and the pipeline
 * has caught up, it stops both gracefully, checks the topics ({@link LineageCheck}) and evaluates the last
 * snapshot as a subscriber sees it (signed, verified) on every task's held-out test images.
 */
public final class ChaosRun {
    public static final String MODEL = "fashion";
    private static final String PREFIX = "chaos";
    private static final Pattern RESUMED = Pattern.compile("resuming after version (\\d+) at step (\\d+)");

    private final ChaosSettings settings;
    private final ClassIncrementalStream stream;
    private final PrintStream out;
    private final Random random;
    private final Topics topics = new Topics(PREFIX, 1);
    private long started;

    private ChaosRun(ChaosSettings settings, ClassIncrementalStream stream, PrintStream out) {
        this.settings = settings;
        this.stream = stream;
        this.out = out;
        this.random = new Random(settings.chaosSeed());
    }

    /** Runs the stream through the pipeline under the settings' faults and returns what happened. */
    public static ChaosResult run(ChaosSettings settings, ClassIncrementalStream stream, PrintStream out) throws Exception {
        return new ChaosRun(settings, stream, out).run();
    }

    private ChaosResult run() throws Exception {
        Path dir = settings.workDir();
        // a run's directory (broker data, curator state, logs) is its own: an earlier run's, left for inspection,
        // would hand this run's brokers its topics and records
        org.apache.kafka.common.utils.Utils.delete(dir.toFile());
        Path logs = Files.createDirectories(dir.resolve("logs"));
        String label = settings.faultless() ? "clean" : "chaos";
        String key = "chaos-snapshot-key-" + settings.chaosSeed() + "-0123456789abcdef";
        Path keyFile = Files.writeString(dir.resolve("snapshot.key"), key);
        // a killed curator's partitions must move to its successor within seconds, not the default 45 s
        Path curatorConfig = Files.writeString(dir.resolve("curator.properties"),
                "session.timeout.ms=6000\nheartbeat.interval.ms=1000\n"
                        // when the curator scales out, a warm copy of the shard's stores on another instance
                        + "num.standby.replicas=1\n");
        ChaosPlan plan = ChaosPlan.draw(settings, random);
        ChaosSettings.Topology topology = settings.topology();
        // the brokers keep their data in the work directory: the topics can be inspected after the run
        try (EmbeddedKafkaCluster cluster = EmbeddedKafkaCluster.builder().brokers(topology.brokers())
                .dataDir(dir.resolve("kafka")).build().start()) {
            String bootstrap = cluster.bootstrapServers();
            Map<String, Object> client = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            try (Admin admin = Admin.create(client)) {
                new TopicAdmin(admin).ensure(topics.all());
            }
            started = System.nanoTime();
            long trainable = produce(client);
            long expectedSteps = Math.max(1, trainable / ChaosSettings.FRESH_PER_STEP);
            out.printf("%s: %d records produced (%d trainable samples, ~%d steps expected); plan: %s%n", label,
                    stream.events().size(), trainable, expectedSteps, plan.steps());
            List<String> common = List.of("--bootstrap-servers", bootstrap, "--topic-prefix", PREFIX, "--partitions", "1",
                    "--seed", Long.toString(stream.settings().seed()), "--buffer-size", Integer.toString(settings.bufferSize()));
            List<String> curatorArgs = new ArrayList<>(List.of("curator", "--model-id", MODEL, "--kafka-config", curatorConfig.toString(),
                    "--linger", settings.linger().toString(), "--eval-every-steps", "200",
                    "--state-dir", dir.resolve("curator-state").toString()));
            curatorArgs.addAll(common);
            List<ComponentProcess> spareCurators = new ArrayList<>();
            for (int i = 2; i <= (topology.curatorScaleOuts() > 0 ? 3 : 1); i++) {
                List<String> args = new ArrayList<>(curatorArgs);
                args.set(args.indexOf("--state-dir") + 1, dir.resolve("curator-state-" + i).toString());
                spareCurators.add(new ComponentProcess("curator-" + i, args, Map.of(), logs, "768m"));
            }
            List<String> trainerArgs = new ArrayList<>(List.of("trainer", "--model-id", MODEL,
                    "--snapshot-every-steps", Integer.toString(settings.snapshotEverySteps()),
                    "--snapshot-every", settings.snapshotEvery().toString(), "--snapshot-key-file", keyFile.toString(),
                    "--momentum", Float.toString(settings.momentum())));
            trainerArgs.addAll(common);
            trainerArgs.addAll(settings.trainerArgs());
            List<ComponentProcess> trainers = new ArrayList<>();
            if (topology.standbyTrainer()) {
                // active and standby: whichever takes the lease first trains; a silent holder loses it after 6 s
                List<String> standbyArgs = new ArrayList<>(trainerArgs);
                standbyArgs.addAll(List.of("--standby", "--lease-session-timeout", "PT6S"));
                trainers.add(new ComponentProcess("trainer-a", standbyArgs, Map.of(), logs, "1g"));
                trainers.add(new ComponentProcess("trainer-b", standbyArgs, Map.of(), logs, "1g"));
            } else {
                trainers.add(new ComponentProcess("trainer", trainerArgs, Map.of(), logs, "1g"));
            }
            FaultController controller;
            try (ComponentProcess curator = new ComponentProcess("curator", curatorArgs, Map.of(), logs, "768m");
                 AutoCloseable spares = () -> closeAll(spareCurators);
                 AutoCloseable trainersClosed = () -> closeAll(trainers);
                 Admin admin = Admin.create(client);
                 CatchUp catchUp = new CatchUp(admin, client);
                 KafkaConsumer<byte[], byte[]> snapshots = consumer(client, topics.modelUpdates().name(), true);
                 KafkaConsumer<byte[], byte[]> chunks = consumer(client, topics.modelChunks().name(), false);
                 KafkaConsumer<byte[], byte[]> batches = consumer(client, topics.trainBatches().name(), true)) {
                curator.start();
                trainers.forEach(ComponentProcess::start);
                // the stream's last partial batch, and the replay batches of corrections still waiting, come a
                // linger after the curator's last input (the replay batches then a wall-clock tick apart): the
                // curator must have been done with its input longer than that, and the pipeline caught up for a
                // snapshot's time after
                Duration settle = settings.snapshotEvery().plusSeconds(5);
                Duration curatorSettle = settings.linger().plusSeconds(5);
                controller = new FaultController(settings, new FaultController.Pipeline(cluster, curator, spareCurators, trainers,
                        admin, catchUp, snapshots, chunks, batches, topics, MODEL), expectedSteps, settle, curatorSettle, random,
                        this::log);
                controller.run(plan);
                controller.finishMeasurements();
                out.printf("%s: curator (incarnation %d): %s%n", label, curator.incarnation(), FaultController.curatorRecoveries(curator));
                for (ComponentProcess trainer : trainers) {
                    int incarnation = trainer.incarnation();
                    long finalSteps = trainer.metric(FaultController.STEPS_METRIC).stream().mapToLong(v -> (long) v).findFirst()
                            .orElse(-1);
                    int trainerExit = trainer.stop(Duration.ofSeconds(60));
                    out.printf("%s: %s incarnation %d took %d steps, exited %d%n", label, trainer.name(), incarnation,
                            finalSteps, trainerExit);
                }
                int curatorExit = curator.stop(Duration.ofSeconds(60));
                out.printf("%s: caught up after %.0f s; curator exited %d%n", label, seconds(), curatorExit);
            }
            double seconds = seconds();
            LineageCheck.Lineage lineage = LineageCheck.read(client, topics, MODEL, trainable);
            List<ChaosResult.TrainerKill> kills = trainerKills(logs, controller.kills(), lineage.finalStep());
            double[] accuracy = evaluate(client, bootstrap, key, lineage.versions());
            return new ChaosResult(label, controller.done(), controller.unplannedExits(), kills, lineage, accuracy,
                    java.util.Arrays.stream(accuracy).average().orElse(Double.NaN), seconds, topology,
                    controller.brokerRestarts(), controller.curatorScales(),
                    controller.failoverMillis());
        }
    }

    private long produce(Map<String, Object> client) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        java.util.Set<String> labeledLater = new java.util.HashSet<>();
        long trainable = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            long shift = KafkaExperiment.shiftToNow(stream.events());
            for (ClassIncrementalStream.Event e : stream.events()) {
                producer.send(KafkaExperiment.record(topics, e, shift));
                if (e instanceof SampleEvent s) {
                    boolean train = s.sample().getSplit() == io.rehearsal.schemas.avro.Split.TRAIN;
                    trainable += train && s.sample().getLabel() != null ? 1 : 0;
                } else {
                    labeledLater.add(e.key());
                }
            }
            producer.flush();
        }
        long requestsLabeled = stream.events().stream().filter(e -> e instanceof SampleEvent s && s.sample().getLabel() == null
                && labeledLater.contains(s.key())).count();
        return trainable + requestsLabeled;
    }

    private static void closeAll(List<ComponentProcess> processes) throws InterruptedException {
        for (ComponentProcess p : processes) {
            p.close();
        }
    }

    /**
     * Per trainer kill: what it had resumed from, what it took, what survived (from the incarnations' logs). When no
     * successor of the last kill got as far as resuming before the run ended (the victim's last snapshot committed as
     * the kill struck, so the pipeline was caught up), nothing trained after it: what survived is the final step.
     */
    private static List<ChaosResult.TrainerKill> trainerKills(Path logs, List<FaultController.Kill> killed, long finalStep)
            throws IOException {
        List<ChaosResult.TrainerKill> out = new ArrayList<>();
        for (int i = 0; i < killed.size(); i++) {
            FaultController.Kill k = killed.get(i);
            int incarnation = k.incarnation();
            long resumed = resumedStep(logs, k.name(), incarnation);
            long committed = -1;
            if (k.standby() != null) {
                // the standby that was waiting when the kill struck took over (-1 if it was killed before resuming)
                committed = resumedStep(logs, k.standby(), k.standbyIncarnation());
            }
            for (int next = incarnation + 1; committed < 0 && Files.exists(logs.resolve(k.name() + "-" + next + ".log")); next++) {
                committed = resumedStep(logs, k.name(), next); // the first successor that got as far as resuming
            }
            if (committed < 0 && i == killed.size() - 1) {
                committed = finalStep;
            }
            out.add(new ChaosResult.TrainerKill(k.fault(), incarnation, k.uptimeMillis(),
                    resumed < 0 ? committed : resumed, resumed < 0 ? -1 : k.stepsTaken(), committed));
        }
        return out;
    }

    /** The step an incarnation resumed from, or -1 if it was killed before it got that far. */
    private static long resumedStep(Path logs, String name, int incarnation) throws IOException {
        Path log = logs.resolve(name + "-" + incarnation + ".log");
        if (!Files.exists(log)) {
            return -1;
        }
        Matcher m = RESUMED.matcher(Files.readString(log, StandardCharsets.UTF_8));
        return m.find() ? Long.parseLong(m.group(2)) : -1;
    }

    /** The last snapshot, read and verified as a subscriber reads it, on each task's held-out test images. */
    private double[] evaluate(Map<String, Object> client, String bootstrap, String key, int version) throws InterruptedException {
        try (ModelSubscriber subscriber = ModelSubscriber.start(SubscriberSettings.builder(MODEL).optFollow(Follow.LATEST).optVerifyKey(key)
                .optStartTimeout(Duration.ofSeconds(60)).build(), topics, bootstrap, client, new SimpleMeterRegistry())) {
            if (!subscriber.awaitVersion(version, Duration.ofMinutes(2))) {
                throw new IllegalStateException("the subscriber did not serve version " + version + " within 2 minutes");
            }
            return new TaskEvaluator(stream.tests(), 0).accuracies(x -> subscriber.predict(x).stream()
                    .mapToInt(ModelPrediction::label).toArray());
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> client, String topic, boolean committed) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committed ? "read_committed" : "read_uncommitted");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.assign(List.of(new TopicPartition(topic, 0)));
        c.seekToBeginning(c.assignment());
        return c;
    }

    private double seconds() {
        return (System.nanoTime() - started) / 1e9;
    }

    private void log(String line) {
        out.printf("  [%6.1f s] %s%n", seconds(), line);
    }
}
