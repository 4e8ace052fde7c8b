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
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
                "--model-id", CorrectableProblem.MODEL), Map.of(), dir, "384m")) {
            predictor.start();
            awaitReady(predictor);

            // When it gets SIGTERM, Then it is gone within 5 s
            assertStopsWithinFiveSeconds(predictor);
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
            List<String> predictorArgs = new java.util.ArrayList<>(List.of("predictor", "--model-id", CorrectableProblem.MODEL));
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
