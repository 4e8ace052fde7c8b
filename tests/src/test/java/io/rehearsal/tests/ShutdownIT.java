package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.cli.Main;
import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every long-running component stops within {@value #STOP_SECONDS} s of SIGTERM (as Kubernetes, systemd or
 * Ctrl-C stop it), with exit status {@value #SIGTERM_EXIT} (128 + 15: the JVM's status after a SIGTERM, once
 * the component's shutdown hook has closed it cleanly). Each runs as the real {@code rehearsal <component>}
 * in its own JVM; the time measured is from the signal to the process being gone, JVM exit included.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ShutdownIT {
    static final int STOP_SECONDS = 5;
    static final int SIGTERM_EXIT = 143;
    private static final Duration READY_WITHIN = Duration.ofSeconds(90);
    private static final String TRAINER_MODEL = "sigterm";
    private static final int TRAINER_DIMS = 16;

    @Test
    void shouldStopTheCuratorWithinFiveSecondsOfSigtermWhileItWorks(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a curator with the default settings that is ready and has made batches of the samples sent to it
        Topics topics = kafka.newTopics();
        try (ComponentProcess curator = new ComponentProcess("curator", List.of("curator",
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--partitions", "1",
                "--state-dir", dir.resolve("state").toString()), Map.of(), dir, "384m")) {
            curator.start();
            awaitReady(curator);
            Map<String, Sample> samples = new LinkedHashMap<>();
            for (int i = 0; i < 64; i++) {
                samples.put("s" + i, sample("s" + i, i % 10));
            }
            TestRecords.produce(kafka, topics.samples(), samples);
            List<ConsumerRecord<String, TrainBatch>> batches = TestRecords.consume(kafka, topics.trainBatches(), 1, READY_WITHIN);
            assertThat(batches).isNotEmpty();

            // When it gets SIGTERM, Then it is gone within 5 s, with the status of a clean stop on SIGTERM
            assertStopsWithinFiveSeconds(curator);
        }
    }

    @Test
    void shouldStopThePredictorWithinFiveSecondsOfSigterm(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a predictor that serves a model and is ready
        Topics topics = kafka.newTopics();
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of(CorrectableProblem.MODEL,
                PredictorCommandIT.snapshot(1, Optional.empty())));
        try (ComponentProcess predictor = new ComponentProcess("predictor", List.of("predictor",
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(),
                "--model-id", CorrectableProblem.MODEL, "--follow", "latest"), Map.of(), dir, "384m")) {
            predictor.start();
            awaitReady(predictor);

            // When it gets SIGTERM, Then it is gone within 5 s
            assertStopsWithinFiveSeconds(predictor);
        }
    }

    @Test
    void shouldStopAnIdleTrainerWithinFiveSecondsOfSigterm(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a trainer that has started and has nothing to train
        Topics topics = kafka.newTopics();
        try (ComponentProcess trainer = trainer(kafka, topics, dir)) {
            trainer.start();
            awaitReady(trainer);
            await().atMost(READY_WITHIN).pollInterval(Duration.ofMillis(100))
                    .until(() -> Files.readString(trainer.log()).contains("resuming after version"));

            // When it gets SIGTERM, Then it is gone within 5 s
            assertStopsWithinFiveSeconds(trainer);
        }
    }

    @Test
    void shouldStopATrainingTrainerWithinFiveSecondsOfSigtermAfterItsFinalSnapshot(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        // Given far more batches than the trainer takes before the SIGTERM, and a trainer that would not snapshot
        // on its own for an hour
        Topics topics = kafka.newTopics();
        int batches = 4000;
        produceBatches(kafka, topics, batches);
        try (ComponentProcess trainer = trainer(kafka, topics, dir)) {
            trainer.start();
            awaitReady(trainer);
            await().atMost(READY_WITHIN).pollInterval(Duration.ofMillis(50))
                    .failFast(() -> assertThat(trainer.alive()).as("the trainer exited:\n%s", trainer.logTail(40)).isTrue())
                    .until(() -> trainer.metric("rehearsal_trainer_steps_total").orElse(0) >= 100);

            // When it gets SIGTERM in the middle of training, Then it is gone within 5 s
            assertStopsWithinFiveSeconds(trainer);

            // having published one final snapshot of what it trained, covering exactly the batches it trained
            Matcher published = Pattern.compile("published version (\\d+) at step (\\d+)").matcher(Files.readString(trainer.log()));
            assertThat(published.find()).as("a final snapshot in the log:\n%s", trainer.logTail(30)).isTrue();
            long version = Long.parseLong(published.group(1));
            long step = Long.parseLong(published.group(2));
            assertThat(published.find()).as("only the final snapshot").isFalse();
            assertThat(step).isBetween(100L, batches - 1L);
            List<ConsumerRecord<String, ModelSnapshot>> snapshots = TestRecords.consume(kafka, topics.modelUpdates(), 2,
                    Duration.ofSeconds(10));
            assertThat(snapshots).singleElement().satisfies(r -> {
                assertThat(r.value().getVersion()).isEqualTo(version);
                assertThat(r.value().getStep()).isEqualTo(step);
                assertThat(r.value().getProvenance().getBatchOffsets()).singleElement()
                        .satisfies(o -> assertThat(o.getOffset()).isEqualTo(step));
            });
        }
    }

    @Test
    void shouldStopTheBrokerWithinFiveSecondsOfSigterm(@TempDir Path dir) throws Exception {
        // Given `rehearsal broker` with rehearsal's topics, ready for clients
        Path log = dir.resolve("broker.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process broker = new ProcessBuilder(java, "-Xmx384m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "broker", "--port", Integer.toString(freePort()), "--data-dir", dir.resolve("data").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(READY_WITHIN).pollInterval(Duration.ofMillis(100))
                    .failFast(() -> assertThat(broker.isAlive()).as("the broker exited:\n%s", Files.readString(log)).isTrue())
                    .until(() -> Files.readString(log).contains("Kafka broker ready at"));

            // When it gets SIGTERM, Then it is gone within 5 s
            long started = System.nanoTime();
            broker.destroy();
            boolean exited = broker.waitFor(30, TimeUnit.SECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            System.out.printf("broker stopped %d ms after SIGTERM, exit status %s%n", took.toMillis(),
                    exited ? broker.exitValue() : "none");
            assertThat(exited).as("exited on SIGTERM:\n%s", Files.readString(log)).isTrue();
            assertThat(took).as("stop time; log:\n%s", Files.readString(log)).isLessThan(Duration.ofSeconds(STOP_SECONDS));
            assertThat(broker.exitValue()).isEqualTo(SIGTERM_EXIT);
        } finally {
            broker.destroyForcibly().waitFor();
        }
    }

    @Test
    void shouldStopTheCuratorAndThePredictorWithinFiveSecondsOfSigtermEvenWhenTheBrokerIsGone(@TempDir Path dir)
            throws Exception {
        // Given a curator making batches and a predictor serving a model, on a broker of their own
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            Map<String, Object> client = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            Topics topics = new Topics("gone", 1);
            try (Admin admin = Admin.create(client)) {
                new TopicAdmin(admin).ensure(topics.all());
            }
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(client, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(topics.modelUpdates().name(), topics.modelUpdates().serializeKey(
                        CorrectableProblem.MODEL), topics.modelUpdates().serializeValue(PredictorCommandIT.snapshot(1,
                        Optional.empty())))).get();
                for (int i = 0; i < 64; i++) {
                    producer.send(new ProducerRecord<>(topics.samples().name(), topics.samples().serializeKey("s" + i),
                            topics.samples().serializeValue(sample("s" + i, i % 10))));
                }
                producer.flush();
            }
            List<String> kafka = List.of("--bootstrap-servers", broker.bootstrapServers(), "--topic-prefix", topics.prefix(),
                    "--partitions", "1");
            List<String> curatorArgs = new java.util.ArrayList<>(List.of("curator", "--state-dir", dir.resolve("state").toString()));
            curatorArgs.addAll(kafka);
            List<String> predictorArgs = new java.util.ArrayList<>(List.of("predictor", "--model-id", CorrectableProblem.MODEL,
                    "--follow", "latest"));
            predictorArgs.addAll(kafka);
            try (ComponentProcess curator = new ComponentProcess("curator", curatorArgs, Map.of(), dir, "384m");
                 ComponentProcess predictor = new ComponentProcess("predictor", predictorArgs, Map.of(), dir, "384m")) {
                curator.start();
                predictor.start();
                awaitReady(curator);
                awaitReady(predictor);

                // When the broker goes away, and then each gets SIGTERM
                broker.stop();

                // Then each is gone within 5 s all the same
                assertStopsWithinFiveSeconds(curator);
                assertStopsWithinFiveSeconds(predictor);
            }
        }
    }

    private static void awaitReady(ComponentProcess component) {
        await().atMost(READY_WITHIN).pollInterval(Duration.ofMillis(100))
                .failFast(() -> assertThat(component.alive()).as("%s exited:\n%s", component.name(), component.logTail(40)).isTrue())
                .until(component::ready);
    }

    private static void assertStopsWithinFiveSeconds(ComponentProcess component) throws InterruptedException {
        long started = System.nanoTime();
        int exit = component.stop(Duration.ofSeconds(30));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        System.out.printf("%s stopped %d ms after SIGTERM, exit status %d%n", component.name(), took.toMillis(), exit);
        assertThat(took).as("%s's stop time; log:\n%s", component.name(), component.logTail(30))
                .isLessThan(Duration.ofSeconds(STOP_SECONDS));
        assertThat(exit).as("%s's exit status; log:\n%s", component.name(), component.logTail(30)).isEqualTo(SIGTERM_EXIT);
    }

    private static ComponentProcess trainer(KafkaCluster kafka, Topics topics, Path dir) {
        return new ComponentProcess("trainer", List.of("trainer", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic-prefix", topics.prefix(), "--model-id", TRAINER_MODEL, "--input-shape", Integer.toString(TRAINER_DIMS),
                "--classes", "4", "--hidden", "256,256", "--snapshot-every-steps", "1000000", "--snapshot-every", "PT1H"),
                Map.of(), dir, "384m");
    }

    /** TRAIN batches of 64 items of 4 views each: a few milliseconds per step, so thousands take a while. */
    private static void produceBatches(KafkaCluster kafka, Topics topics, int n) {
        SplittableRandom random = new SplittableRandom(5);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            List<TrainItem> items = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                float[] x = new float[TRAINER_DIMS];
                int label = random.nextInt(4);
                for (int d = 0; d < TRAINER_DIMS; d++) {
                    x[d] = (float) random.nextGaussian() + (d % 4 == label ? 2f : 0f);
                }
                items.add(new TrainItem("s" + b + "-" + i, label, 0, FeatureTensor.ofFloats(new int[] {TRAINER_DIMS}, x), 4, i,
                        ItemRole.FRESH, 0, null, 0, (long) b, Instant.now()));
            }
            TrainBatch batch = new TrainBatch(TRAINER_MODEL + "/0/" + b, TRAINER_MODEL, 0, (long) b, BatchKind.TRAIN, 4, items,
                    new ScheduleStats(64, 0, 0, 0, 0.0, 0, 0, 4), (long) b, null, Instant.now());
            records.add(new ProducerRecord<>(topics.trainBatches().name(), topics.trainBatches().serializeKey(TRAINER_MODEL),
                    topics.trainBatches().serializeValue(batch)));
        }
        TestRecords.produceRaw(kafka, records);
    }

    private static Sample sample(String id, int label) {
        float[] x = new float[784];
        x[label] = 1f;
        return Sample.newBuilder().setId(id).setModelId("default").setFeatures(FeatureTensor.ofFloats(new int[] {784}, x))
                .setLabel(label).setSplit(Split.TRAIN).setSource("test").setEventTime(Instant.now()).build();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
