package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.cli.Main;
import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code rehearsal predictor} as its own process, and {@code rehearsal feedback}, against a real broker. */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class PredictorCommandIT {
    private static final String KEY = "cli-signing-key-0123456789abcdef";
    private static final String MODEL = CorrectableProblem.MODEL;
    private static final Duration WAIT = Duration.ofSeconds(90);
    private final HttpClient http = HttpClient.newHttpClient();

    static ModelSnapshot snapshot(long version, Optional<SnapshotSigner> signer) {
        ModelSpec spec = ModelSpec.mlp(CorrectableProblem.DIMS, CorrectableProblem.CLASSES, 16);
        byte[] blob;
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder(MODEL, spec).optSeed(version)
                .optAugment(AugmentSettings.none()).build())) {
            blob = SnapshotCodec.encodeParameters(t.parameters());
        }
        return SnapshotCodec.snapshot(MODEL, version, version == 1 ? null : version - 1, 10 * version, Instant.now(),
                spec.toAvro(), blob, List.of(), new SnapshotMetrics(0L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                new Provenance(Map.of(), version, List.of(), List.of(), 0, "test", "test", "17", "0.36.0", "2.7.1", "cpu()",
                        "localhost"), signer);
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void shouldServeASignedModelFromItsOwnProcessAndTakeFeedbackFromTheCli(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a signed version 1 of the model on the topic, and the key in a file as Kubernetes mounts it
        Topics topics = kafka.newTopics();
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of(MODEL, snapshot(1, Optional.of(new SnapshotSigner(KEY)))));
        Path keyFile = Files.writeString(dir.resolve("key"), KEY + "\n");
        int port = freePort();
        String api = "http://127.0.0.1:" + port;
        Path log = dir.resolve("predictor.log");

        // When `rehearsal predictor` runs as its own process
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process predictor = new ProcessBuilder(java, "-Xmx384m", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "predictor",
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", MODEL,
                "--metrics-host", "127.0.0.1", "--metrics-port", Integer.toString(port), "--snapshot-key-file", keyFile.toString(),
                "--follow", "latest")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            // Then it becomes ready once the verified model is loaded
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (status(api + "/ready") != 200) {
                assertThat(predictor.waitFor(200, TimeUnit.MILLISECONDS)).as("the predictor exited:\n%s",
                        Files.readString(log)).isFalse();
                assertThat(System.nanoTime()).as("ready within %s:\n%s", WAIT, Files.readString(log)).isLessThan(deadline);
            }
            JsonNode model = JsonCodec.mapper().readTree(get(api + "/model").body());
            assertThat(model.get("version").asLong()).isEqualTo(1);
            assertThat(model.get("signatureVerified").asBoolean()).isTrue();
            // and answers over HTTP and on the predictions topic, on the same port as /metrics
            HttpResponse<String> answer = post(api + "/predict",
                    JsonCodec.toJson(CorrectableProblem.sample("h1", CorrectableProblem.request(), null)));
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(JsonCodec.mapper().readTree(answer.body()).get("modelVersion").asLong()).isEqualTo(1);
            TestRecords.produce(kafka, topics.samples(),
                    Map.of("k1", CorrectableProblem.sample("k1", CorrectableProblem.centre(1), null)));
            List<ConsumerRecord<String, Prediction>> predictions = TestRecords.consume(kafka, topics.predictions(), 1, WAIT);
            assertThat(predictions).singleElement().satisfies(r -> assertThat(r.value().getModelVersion()).isEqualTo(1));
            // and refuses an unsigned version 2, still serving version 1
            TestRecords.produce(kafka, topics.modelUpdates(), Map.of(MODEL, snapshot(2, Optional.empty())));
            deadline = System.nanoTime() + WAIT.toNanos();
            while (!get(api + "/metrics").body().contains("reason=\"UNSIGNED\"} 1.0")) {
                assertThat(predictor.waitFor(200, TimeUnit.MILLISECONDS)).isFalse();
                assertThat(System.nanoTime()).as("refusal in /metrics within %s", WAIT).isLessThan(deadline);
            }
            assertThat(JsonCodec.mapper().readTree(get(api + "/model").body()).get("version").asLong()).isEqualTo(1);
            assertThat(Files.readString(log)).contains("REFUSED snapshot version 2 (UNSIGNED)");

            // When a person sends feedback with `rehearsal feedback`
            StringWriter out = new StringWriter();
            CommandLine cli = Main.commandLine();
            cli.setOut(new PrintWriter(out));
            int code = cli.execute("feedback", "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix",
                    topics.prefix(), "--sample", "k1", "--kind", "LABEL", "--label", "2", "--annotator", "ana",
                    "--trust", "0.9", "--model-id", MODEL, "--predicted-label", "1", "--model-version", "1");
            // Then it is on the feedback topic, as the curator will read it
            assertThat(code).as(out.toString()).isZero();
            assertThat(out.toString()).startsWith("LABEL 2 for sample k1 (model " + MODEL + ") written to " + topics.feedback().name());
            List<ConsumerRecord<String, Feedback>> feedback = TestRecords.consume(kafka, topics.feedback(), 1, WAIT);
            assertThat(feedback).singleElement().satisfies(r -> {
                assertThat(r.key()).isEqualTo("k1");
                assertThat(r.value().getKind()).isEqualTo(FeedbackKind.LABEL);
                assertThat(r.value().getLabel()).isEqualTo(2);
                assertThat(r.value().getAnnotator()).isEqualTo("ana");
                assertThat(r.value().getTrust()).isEqualTo(0.9f);
                assertThat(r.value().getModelVersion()).isEqualTo(1L);
            });
        } finally {
            // When it is stopped as Kubernetes stops it (SIGTERM), Then it exits
            predictor.destroy();
            assertThat(predictor.waitFor(30, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        }
    }

    @Test
    void shouldBeReadyOnlyOnceItAnswersPredictions(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a predictor started before its model has any snapshot
        Topics topics = kafka.newTopics();
        try (ComponentProcess predictor = new ComponentProcess("predictor", List.of("predictor", "--bootstrap-servers",
                kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", MODEL, "--follow", "latest"), Map.of(),
                dir, "384m")) {
            predictor.start();
            String api = "http://127.0.0.1:" + predictor.metricsPort();
            await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                    .failFast(() -> assertThat(predictor.alive()).as("exited:\n%s", predictor.logTail(40)).isTrue())
                    .until(() -> status(api + "/health") == 200);
            String request = JsonCodec.toJson(CorrectableProblem.sample("h1", CorrectableProblem.request(), null));

            // Then it is alive but not ready, and a prediction is refused with the reason
            assertThat(get(api + "/health").body()).isEqualTo("alive\n");
            assertThat(status(api + "/ready")).isEqualTo(503);
            HttpResponse<String> early = post(api + "/predict", request);
            assertThat(early.statusCode()).as(early.body()).isEqualTo(503);
            assertThat(early.body()).contains("NO_MODEL");

            // When the trainer publishes version 1
            TestRecords.produce(kafka, topics.modelUpdates(), Map.of(MODEL, snapshot(1, Optional.empty())));

            // Then from the first moment /ready says yes, POST /predict answers with that version
            await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .failFast(() -> assertThat(predictor.alive()).as("exited:\n%s", predictor.logTail(40)).isTrue())
                    .until(() -> status(api + "/ready") == 200);
            long started = System.nanoTime();
            HttpResponse<String> first = post(api + "/predict", request);
            long firstMs = (System.nanoTime() - started) / 1_000_000;
            started = System.nanoTime();
            HttpResponse<String> second = post(api + "/predict", request);
            long secondMs = (System.nanoTime() - started) / 1_000_000;
            System.out.printf("first POST /predict after /ready: %d ms; the next: %d ms%n", firstMs, secondMs);
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            assertThat(JsonCodec.mapper().readTree(first.body()).get("modelVersion").asLong()).isEqualTo(1);
            assertThat(second.statusCode()).isEqualTo(200);
        }
    }

    private int status(String url) {
        try {
            return get(url).statusCode();
        } catch (Exception e) {
            return -1; // not listening yet
        }
    }

    private HttpResponse<String> post(String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
