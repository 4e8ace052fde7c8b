package io.rehearsal.cli.chaos;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.cli.chaos.ChaosPlan.Fault;
import io.rehearsal.cli.data.ClassIncrementalStream;
import io.rehearsal.cli.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.cli.experiment.CatchUp;
import io.rehearsal.cli.experiment.KafkaExperiment;
import io.rehearsal.cli.experiment.TaskEvaluator;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
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
    private static final String STEPS_METRIC = "rehearsal_trainer_steps_total";

    private final ChaosSettings settings;
    private final ClassIncrementalStream stream;
    private final PrintStream out;
    private final Random random;
    private final Topics topics = new Topics(PREFIX, 1);
    private final Map<Fault, Integer> done = new EnumMap<>(Fault.class);
    private final Map<String, Integer> unplanned = new TreeMap<>();
    private final List<long[]> killed = new ArrayList<>(); // {fault ordinal, incarnation, uptime ms, steps taken}
    private final AtomicReference<long[]> lastSteps = new AtomicReference<>(new long[] {0, -1}); // {incarnation, steps}
    private long started;
    private long latestStep;

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
        Path logs = Files.createDirectories(dir.resolve("logs"));
        String label = settings.faultless() ? "clean" : "chaos";
        String key = "chaos-snapshot-key-" + settings.chaosSeed() + "-0123456789abcdef";
        Path keyFile = Files.writeString(dir.resolve("snapshot.key"), key);
        // a killed curator's partitions must move to its successor within seconds, not the default 45 s
        Path curatorConfig = Files.writeString(dir.resolve("curator.properties"),
                "session.timeout.ms=6000\nheartbeat.interval.ms=1000\n");
        ChaosPlan plan = ChaosPlan.draw(settings, random);
        // the broker keeps its data in the work directory: the topics can be inspected after the run
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir.resolve("kafka")).build().start()) {
            String bootstrap = broker.bootstrapServers();
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
            List<String> curatorArgs = new ArrayList<>(List.of("curator", "--kafka-config", curatorConfig.toString(),
                    "--linger", settings.linger().toString(), "--eval-every-steps", "200",
                    "--state-dir", dir.resolve("curator-state").toString()));
            curatorArgs.addAll(common);
            List<String> trainerArgs = new ArrayList<>(List.of("trainer", "--model-id", MODEL,
                    "--snapshot-every-steps", Integer.toString(settings.snapshotEverySteps()),
                    "--snapshot-every", settings.snapshotEvery().toString(), "--snapshot-key-file", keyFile.toString(),
                    "--momentum", Float.toString(settings.momentum())));
            trainerArgs.addAll(common);
            ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "chaos-scraper");
                t.setDaemon(true);
                return t;
            });
            try (ComponentProcess curator = new ComponentProcess("curator", curatorArgs, Map.of(), logs, "768m");
                 ComponentProcess trainer = new ComponentProcess("trainer", trainerArgs, Map.of(), logs, "1g");
                 Admin admin = Admin.create(client);
                 CatchUp catchUp = new CatchUp(admin, client);
                 KafkaConsumer<byte[], byte[]> snapshots = consumer(client, topics.modelUpdates().name(), true);
                 KafkaConsumer<byte[], byte[]> chunks = consumer(client, topics.modelChunks().name(), false)) {
                curator.start();
                trainer.start();
                scraper.scheduleWithFixedDelay(() -> {
                    int incarnation = trainer.incarnation();
                    trainer.metric(STEPS_METRIC).ifPresent(v -> lastSteps.set(new long[] {incarnation, (long) v}));
                }, 200, 200, TimeUnit.MILLISECONDS);
                // the stream's last partial batch comes a linger after the curator's last input; a snapshot follows
                Duration settle = settings.snapshotEvery().plusSeconds(3)
                        .plus(trainable % ChaosSettings.FRESH_PER_STEP == 0 ? Duration.ZERO : settings.linger());
                Controller controller = new Controller(broker, curator, trainer, admin, catchUp, snapshots, chunks,
                        expectedSteps, settle, new ArrayList<>(plan.steps()));
                controller.loop();
                int incarnation = trainer.incarnation();
                long finalSteps = trainer.metric(STEPS_METRIC).stream().mapToLong(v -> (long) v).findFirst().orElse(-1);
                scraper.shutdownNow();
                int trainerExit = trainer.stop(Duration.ofSeconds(60));
                int curatorExit = curator.stop(Duration.ofSeconds(60));
                out.printf("%s: caught up after %.0f s; trainer incarnation %d took %d steps, exited %d; curator exited %d%n",
                        label, seconds(), incarnation, finalSteps, trainerExit, curatorExit);
            } finally {
                scraper.shutdownNow();
            }
            double seconds = seconds();
            LineageCheck.Lineage lineage = LineageCheck.read(client, topics, MODEL, trainable);
            List<ChaosResult.TrainerKill> kills = trainerKills(logs);
            double[] accuracy = evaluate(client, bootstrap, key, lineage.versions());
            return new ChaosResult(label, Map.copyOf(done), Map.copyOf(unplanned), kills, lineage, accuracy,
                    java.util.Arrays.stream(accuracy).average().orElse(Double.NaN), seconds);
        }
    }

    /** Carries out the plan, one fault at a time, and returns once it is done and the pipeline caught up. */
    private final class Controller {
        private final EmbeddedKafkaBroker broker;
        private final ComponentProcess curator;
        private final ComponentProcess trainer;
        private final Admin admin;
        private final CatchUp catchUp;
        private final KafkaConsumer<byte[], byte[]> snapshots;
        private final KafkaConsumer<byte[], byte[]> chunks;
        private final long expectedSteps;
        private final Map<String, List<TopicPartition>> groups;
        private final Duration settle;
        private final List<ChaosPlan.Step> pending;
        private double curatorProgress;
        private long nextCuratorCheck;
        private long stableSince = -1;
        private long nextCatchUpCheck;
        private int versionAtTrainerStart;
        private int latestVersion;

        Controller(EmbeddedKafkaBroker broker, ComponentProcess curator, ComponentProcess trainer, Admin admin,
                   CatchUp catchUp, KafkaConsumer<byte[], byte[]> snapshots, KafkaConsumer<byte[], byte[]> chunks,
                   long expectedSteps, Duration settle, List<ChaosPlan.Step> pending) {
            this.broker = broker;
            this.curator = curator;
            this.trainer = trainer;
            this.admin = admin;
            this.catchUp = catchUp;
            this.snapshots = snapshots;
            this.chunks = chunks;
            this.expectedSteps = expectedSteps;
            this.groups = Map.of(PREFIX + "-curator", List.of(new TopicPartition(topics.samples().name(), 0),
                            new TopicPartition(topics.feedback().name(), 0)),
                    "rehearsal-trainer-" + MODEL, List.of(new TopicPartition(topics.trainBatches().name(), 0)));
            this.settle = settle;
            this.pending = pending;
        }

        void loop() throws Exception {
            long deadline = System.nanoTime() + settings.timeout().toNanos();
            while (true) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(String.format("the %s run did not finish within %s (%d faults left, "
                            + "latest step %d of ~%d); see the logs in %s", settings.faultless() ? "clean" : "chaos",
                            settings.timeout(), pending.size(), latestStep, expectedSteps, settings.workDir()));
                }
                pollSnapshots(Duration.ofMillis(50));
                supervise(curator);
                supervise(trainer);
                boolean idle = caughtUp();
                ChaosPlan.Step next = due(idle);
                if (next != null) {
                    pending.remove(next);
                    strike(next.fault(), idle);
                    stableSince = -1;
                } else if (pending.isEmpty() && idle && stableSince >= 0
                        && System.nanoTime() - stableSince >= settle.toNanos()) {
                    return;
                }
            }
        }

        /** The first fault whose mark is reached; when the pipeline is idle, the next one regardless. */
        private ChaosPlan.Step due(boolean idle) throws Exception {
            if (pending.isEmpty()) {
                return null;
            }
            double trainerProgress = (double) latestStep / expectedSteps;
            for (ChaosPlan.Step s : pending) {
                double progress = s.fault() == Fault.CURATOR_KILL ? curatorProgress() : trainerProgress;
                if (progress >= s.mark()) {
                    return s;
                }
            }
            return idle && stableSince >= 0 && System.nanoTime() - stableSince >= settle.toNanos() ? pending.get(0) : null;
        }

        private void strike(Fault fault, boolean idle) throws Exception {
            switch (fault) {
                case CURATOR_KILL -> killCurator();
                case BROKER_RESTART -> {
                    long t0 = System.nanoTime();
                    broker.stop();
                    sleepPolling(Duration.ofMillis(500 + random.nextInt(1500)));
                    broker.start();
                    log("broker restarted (down %.1f s)", (System.nanoTime() - t0) / 1e9);
                }
                case TRAINER_KILL -> {
                    // at a random moment while it trains: once this incarnation has published
                    awaitTrainerPublished(Duration.ofSeconds(60), idle);
                    sleepPolling(Duration.ofMillis(random.nextInt(2000)));
                    killTrainer(fault, true);
                }
                case TRAINER_KILL_IN_TRANSACTION -> {
                    // as soon as a snapshot transaction is open: its first chunk is written, not yet committed
                    chunks.seekToEnd(chunks.assignment());
                    long mark = chunks.position(chunks.assignment().iterator().next());
                    long deadline = System.nanoTime() + Duration.ofSeconds(idle ? 5 : 60).toNanos();
                    boolean open = false;
                    while (!open && System.nanoTime() < deadline) {
                        for (ConsumerRecord<byte[], byte[]> r : chunks.poll(Duration.ofMillis(5))) {
                            open |= r.offset() >= mark && r.value() != null;
                        }
                        if (!open) {
                            curatorKillIfDue();
                        }
                    }
                    killTrainer(fault, false);
                }
                case TRAINER_KILL_AT_START -> {
                    // while the replacement of the last victim starts: JVM, libtorch, fencing, restore
                    long at = 300 + random.nextInt(2500);
                    sleepPolling(Duration.ofMillis(Math.max(0, at - trainer.uptime().toMillis())));
                    killTrainer(fault, false);
                }
            }
            done.merge(fault, 1, Integer::sum);
        }

        private void killCurator() throws InterruptedException {
            long until = System.nanoTime() + random.nextInt(1000) * 1_000_000L;
            while (System.nanoTime() < until) {
                snapshots.poll(Duration.ofMillis(20));
            }
            curator.kill();
            log("curator killed (SIGKILL), incarnation %d after %.1f s, at %.0f%% of its input", curator.incarnation(),
                    curator.uptime().toMillis() / 1e3, 100 * curatorProgress);
            curator.start();
        }

        /** While a trainer fault waits for its moment, a curator kill that comes due strikes at once. */
        private void curatorKillIfDue() throws Exception {
            for (ChaosPlan.Step s : pending) {
                if (s.fault() == Fault.CURATOR_KILL && curatorProgress() >= s.mark()) {
                    pending.remove(s);
                    killCurator();
                    done.merge(Fault.CURATOR_KILL, 1, Integer::sum);
                    return;
                }
            }
        }

        private void killTrainer(Fault fault, boolean scrapeFirst) throws InterruptedException {
            int incarnation = trainer.incarnation();
            long steps = scrapeFirst ? trainer.metric(STEPS_METRIC).stream().mapToLong(v -> (long) v).findFirst().orElse(-1) : -1;
            long[] last = lastSteps.get();
            if (steps < 0 && last[0] == incarnation) {
                steps = last[1]; // the latest scrape, at most 200 ms old: a lower bound
            }
            long uptime = trainer.uptime().toMillis();
            trainer.kill();
            killed.add(new long[] {fault.ordinal(), incarnation, uptime, steps});
            log("trainer killed (SIGKILL, %s), incarnation %d after %.1f s, %s steps taken; latest committed: v%d step %d",
                    fault.name().toLowerCase(java.util.Locale.ROOT), incarnation, uptime / 1e3, steps < 0 ? "?" : steps,
                    latestVersion, latestStep);
            trainer.start();
            versionAtTrainerStart = latestVersion;
        }

        private void awaitTrainerPublished(Duration timeout, boolean idle) throws Exception {
            long deadline = System.nanoTime() + (idle ? Duration.ofSeconds(5) : timeout).toNanos();
            while (latestVersion <= versionAtTrainerStart && System.nanoTime() < deadline) {
                pollSnapshots(Duration.ofMillis(100));
                curatorKillIfDue();
            }
        }

        private void supervise(ComponentProcess p) {
            Integer code = p.exitCode();
            if (code != null) {
                unplanned.merge(p.name(), 1, Integer::sum);
                log("%s incarnation %d EXITED on its own with code %d (see %s); restarting it", p.name(), p.incarnation(), code, p.log());
                p.start();
                if (p == trainer) {
                    versionAtTrainerStart = latestVersion;
                }
            }
        }

        private void pollSnapshots(Duration timeout) {
            for (ConsumerRecord<byte[], byte[]> r : snapshots.poll(timeout)) {
                if (r.value() != null) {
                    ModelSnapshot s = topics.modelUpdates().deserializeValue(r.value());
                    latestStep = s.getStep();
                    latestVersion = (int) s.getVersion();
                }
            }
        }

        private void sleepPolling(Duration d) throws Exception {
            long until = System.nanoTime() + d.toNanos();
            while (System.nanoTime() < until) {
                pollSnapshots(Duration.ofMillis(Math.max(1, Math.min(100, (until - System.nanoTime()) / 1_000_000))));
                curatorKillIfDue();
            }
        }

        /** Share of the samples topic the curator has committed. */
        private double curatorProgress() throws InterruptedException {
            if (System.nanoTime() < nextCuratorCheck) {
                return curatorProgress;
            }
            nextCuratorCheck = System.nanoTime() + 250_000_000L;
            TopicPartition tp = new TopicPartition(topics.samples().name(), 0);
            try {
                OffsetAndMetadata committed = admin.listConsumerGroupOffsets(PREFIX + "-curator")
                        .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS).get(tp);
                long end = admin.listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                        .partitionResult(tp).get(5, TimeUnit.SECONDS).offset();
                curatorProgress = committed == null || end == 0 ? 0 : (double) committed.offset() / end;
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                // the broker is restarting: keep the last figure
            }
            return curatorProgress;
        }

        /** Whether both groups have consumed everything (checked once a second); tracks since when. */
        private boolean caughtUp() throws InterruptedException {
            if (System.nanoTime() < nextCatchUpCheck) {
                return stableSince >= 0;
            }
            nextCatchUpCheck = System.nanoTime() + 1_000_000_000L;
            boolean all;
            try {
                all = true;
                for (var e : groups.entrySet()) {
                    all &= catchUp.caughtUp(e.getKey(), e.getValue());
                }
            } catch (ExecutionException | org.apache.kafka.common.KafkaException e) {
                all = false; // the broker is restarting
            }
            if (!all) {
                stableSince = -1;
            } else if (stableSince < 0) {
                stableSince = System.nanoTime();
            }
            return all;
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

    /** Per trainer kill: what it had resumed from, what it took, what survived (from the incarnations' logs). */
    private List<ChaosResult.TrainerKill> trainerKills(Path logs) throws IOException {
        List<ChaosResult.TrainerKill> out = new ArrayList<>();
        for (long[] k : killed) {
            int incarnation = (int) k[1];
            long resumed = resumedStep(logs, incarnation);
            long committed = -1;
            for (int next = incarnation + 1; committed < 0 && Files.exists(logs.resolve("trainer-" + next + ".log")); next++) {
                committed = resumedStep(logs, next); // the first successor that got as far as resuming
            }
            out.add(new ChaosResult.TrainerKill(Fault.values()[(int) k[0]], incarnation, k[2],
                    resumed < 0 ? committed : resumed, resumed < 0 ? -1 : k[3], committed));
        }
        return out;
    }

    /** The step an incarnation resumed from, or -1 if it was killed before it got that far. */
    private static long resumedStep(Path logs, int incarnation) throws IOException {
        Path log = logs.resolve("trainer-" + incarnation + ".log");
        if (!Files.exists(log)) {
            return -1;
        }
        Matcher m = RESUMED.matcher(Files.readString(log, StandardCharsets.UTF_8));
        return m.find() ? Long.parseLong(m.group(2)) : -1;
    }

    /** The last snapshot, read and verified as a subscriber reads it, on each task's held-out test images. */
    private double[] evaluate(Map<String, Object> client, String bootstrap, String key, int version) throws InterruptedException {
        try (ModelSubscriber subscriber = ModelSubscriber.start(SubscriberSettings.builder(MODEL).optVerifyKey(key)
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

    private void log(String format, Object... args) {
        out.printf("  [%6.1f s] %s%n", seconds(), String.format(format, args));
    }
}
