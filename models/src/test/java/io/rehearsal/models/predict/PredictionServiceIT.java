package io.rehearsal.models.predict;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The prediction service on a real broker: requests from Kafka, several instances, the HTTP API. */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PredictionServiceIT {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final ModelSpec SPEC = ModelSpec.mlp(DIMS, CLASSES, 32);
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static List<NamedTensor> weights;
    private static SyntheticStream stream;

    @BeforeAll
    static void train() {
        stream = new SyntheticStream("m", DIMS, CLASSES, 3);
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("m", SPEC).optSeed(7).build())) {
            for (int i = 0; i < 30; i++) {
                t.train(stream.trainBatch(8, 2));
            }
            weights = t.parameters();
        }
    }

    private static void publish(KafkaCluster kafka, Topics topics, String modelId, long version) {
        SnapshotMetrics metrics = new SnapshotMetrics(240L, 0.5, 0.4, 0.1, 0.9, 0.95, Map.of("0", 1.0), Map.of(), null, Map.of(), null, java.util.List.of());
        Provenance provenance = new Provenance(Map.of("seed", "7"), 7L, List.of(), List.of(), 0, "0.1.0", "abc",
                "17", "0.36.0", "2.7.1", "cpu()", "host");
        ModelSnapshot s = SnapshotCodec.snapshot(modelId, version, null, 30, Instant.now(), SPEC.toAvro(),
                SnapshotCodec.encodeParameters(weights), List.of(), metrics, provenance, Optional.empty());
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of(modelId, s));
    }

    private static PredictorSettings settings(String modelId, String group) {
        return PredictorSettings.builder(SubscriberSettings.builder(modelId).optFollow(Follow.LATEST).optPollTimeout(Duration.ofMillis(100)).build())
                .optGroupIdPrefix(group).optPollTimeout(Duration.ofMillis(100)).build();
    }

    private static Sample request(String id, String modelId, int label, Integer trainLabel) {
        return Sample.newBuilder().setId(id).setModelId(modelId)
                .setFeatures(FeatureTensor.ofFloats(new int[] {DIMS}, stream.sample(label))).setLabel(trainLabel)
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    private static ProducerRecord<byte[], byte[]> record(Topics topics, String key, byte[] value) {
        return new ProducerRecord<>(topics.samples().name(), key.getBytes(StandardCharsets.UTF_8), value);
    }

    @Test
    void shouldAnswerUnlabeledRequestsAndDeadLetterWhatDoesNotFit(KafkaCluster kafka) throws Exception {
        // Given model m at version 1 and a predictor for it
        Topics topics = kafka.newTopics(2);
        publish(kafka, topics, "m", 1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PredictionService service = new PredictionService(settings("m", "rehearsal-predictor-" + UUID.randomUUID() + "-"),
                topics, kafka.bootstrapServers(), Map.of(), registry).start()) {
            // When the samples topic gets 6 Avro requests, 1 JSON request, 2 labeled samples, 1 request of another
            // model, 1 garbage record and 1 request of the wrong shape
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            Map<String, Integer> truth = new HashMap<>();
            for (int i = 0; i < 6; i++) {
                truth.put("r" + i, i % CLASSES);
                records.add(record(topics, "r" + i, topics.samples().serializeValue(request("r" + i, "m", i % CLASSES, null))));
            }
            truth.put("j1", 2);
            records.add(record(topics, "j1", JsonCodec.bytes(JsonCodec.toJson(request("j1", "m", 2, null)))));
            records.add(record(topics, "t1", topics.samples().serializeValue(request("t1", "m", 1, 1))));
            records.add(record(topics, "t2", topics.samples().serializeValue(request("t2", "m", 2, 2))));
            records.add(record(topics, "o1", topics.samples().serializeValue(request("o1", "other", 1, null))));
            records.add(record(topics, "g1", new byte[] {1, 2, 3}));
            Sample wrong = Sample.newBuilder(request("w1", "m", 0, null))
                    .setFeatures(FeatureTensor.ofFloats(new int[] {DIMS + 1}, new float[DIMS + 1])).build();
            records.add(record(topics, "w1", topics.samples().serializeValue(wrong)));
            TestRecords.produceRaw(kafka, records);

            // Then each of the 7 requests gets one prediction, from version 1, right for these well-separated blobs
            List<ConsumerRecord<String, Prediction>> predictions = TestRecords.consume(kafka, topics.predictions(), 7, WAIT);
            assertThat(predictions).hasSize(7);
            for (ConsumerRecord<String, Prediction> r : predictions) {
                Prediction p = r.value();
                assertThat(r.key()).isEqualTo(p.getSampleId());
                assertThat(p.getModelId()).isEqualTo("m");
                assertThat(p.getModelVersion()).isEqualTo(1);
                assertThat(p.getLabel()).as("prediction of %s", p.getSampleId()).isEqualTo(truth.get(p.getSampleId()));
                assertThat(p.getTopK()).hasSize(3);
                assertThat(p.getConfidence()).isEqualTo(p.getTopK().get(0).getProbability());
                assertThat(p.getRequestTime()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
            }
            assertThat(predictions).extracting(r -> r.value().getSampleId()).containsExactlyInAnyOrderElementsOf(truth.keySet());
            // and the garbage and the misfit are dead letters that say why
            List<ConsumerRecord<byte[], DeadLetter>> dead = TestRecords.consume(kafka, topics.deadLetters(), 2, WAIT);
            assertThat(dead).extracting(r -> r.value().getReason()).containsExactlyInAnyOrder("BAD_MARKER", "SHAPE_MISMATCH");
            assertThat(dead).allSatisfy(r -> assertThat(r.value().getComponent()).isEqualTo("predictor"));
            assertThat(dead).filteredOn(r -> r.value().getReason().equals("SHAPE_MISMATCH")).singleElement()
                    .satisfies(r -> assertThat(r.value().getMessage()).isEqualTo("sample w1 has 21 features (shape [21]) but "
                            + "model m version 1 takes 20 (shape [20]); check the producer's shape"));
            assertThat(registry.get("rehearsal.predictor.predictions").tag("source", "kafka").counter().count()).isEqualTo(7);
            assertThat(registry.get("rehearsal.predictor.requests.skipped").tag("reason", "labeled").counter().count()).isEqualTo(2);
            assertThat(registry.get("rehearsal.predictor.requests.skipped").tag("reason", "other_model").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.predictor.kafka.delay").timer().count()).isEqualTo(7);
            assertThat(service.ready()).isTrue();
        }
    }

    @Test
    void shouldShareRequestsBetweenInstancesOfOneGroup(KafkaCluster kafka) throws Exception {
        // Given two predictors of model m in one group, on a samples topic of 2 partitions
        Topics topics = kafka.newTopics(2);
        publish(kafka, topics, "m", 1);
        String group = "rehearsal-predictor-" + UUID.randomUUID() + "-";
        SimpleMeterRegistry one = new SimpleMeterRegistry();
        SimpleMeterRegistry two = new SimpleMeterRegistry();
        try (PredictionService a = new PredictionService(settings("m", group), topics, kafka.bootstrapServers(), Map.of(), one).start();
             PredictionService b = new PredictionService(settings("m", group), topics, kafka.bootstrapServers(), Map.of(), two).start()) {
            // When requests keep coming until both have answered some
            Set<String> ids = new HashSet<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            int n = 0;
            while (count(one) == 0 || count(two) == 0) {
                assertThat(System.nanoTime()).as("both instances answer within %s", WAIT).isLessThan(deadline);
                List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
                for (int i = 0; i < 10; i++, n++) {
                    ids.add("q" + n);
                    records.add(record(topics, "q" + n, topics.samples().serializeValue(request("q" + n, "m", n % CLASSES, null))));
                }
                TestRecords.produceRaw(kafka, records);
                waitFor(() -> count(one) + count(two) >= ids.size(), Duration.ofSeconds(10));
            }
            // Then every request was answered, and the two instances split the work
            List<ConsumerRecord<String, Prediction>> predictions = TestRecords.consume(kafka, topics.predictions(), ids.size(), WAIT);
            assertThat(predictions).extracting(ConsumerRecord::key).containsAll(ids);
            assertThat(count(one) + count(two)).isEqualTo(ids.size());
        }
    }

    private static double count(SimpleMeterRegistry registry) {
        return registry.get("rehearsal.predictor.predictions").tag("source", "kafka").counter().count();
    }

    /** Waits for a condition, checking every 50 ms, until the timeout; returns whether it held. */
    private static boolean waitFor(java.util.function.BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object monitor = new Object();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            synchronized (monitor) {
                monitor.wait(50);
            }
        }
        return true;
    }

    @Test
    void shouldServePredictionsModelAndFeedbackOverHttp(KafkaCluster kafka) throws Exception {
        // Given a predictor of model m at version 1, its API on an HTTP server
        Topics topics = kafka.newTopics();
        publish(kafka, topics, "m", 1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        HttpClient http = HttpClient.newHttpClient();
        try (PredictionService service = new PredictionService(settings("m", "rehearsal-predictor-" + UUID.randomUUID() + "-"),
                topics, kafka.bootstrapServers(), Map.of(), registry).start()) {
            new PredictionHttpApi(service).routes().forEach(server::createContext);
            server.start();
            String base = "http://127.0.0.1:" + server.getAddress().getPort();

            // When a sample is posted without id or modelId, Then its prediction comes back
            String sample = JsonCodec.mapper().createObjectNode().set("features", JsonCodec.mapper().readTree(
                    JsonCodec.toJson(request("x", "m", 3, null))).get("features")).toString();
            HttpResponse<String> r = post(http, base + "/predict", sample);
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode p = JsonCodec.mapper().readTree(r.body());
            assertThat(p.get("label").asInt()).isEqualTo(3);
            assertThat(p.get("modelVersion").asLong()).isEqualTo(1);
            assertThat(p.get("modelId").asText()).isEqualTo("m");
            assertThat(p.get("sampleId").asText()).startsWith("http-");
            assertThat(p.get("topK")).hasSize(3);
            assertThat(p.get("confidence").floatValue()).isEqualTo(p.get("topK").get(0).get("probability").floatValue());
            // and an array of samples is predicted as a batch
            String batch = "[" + JsonCodec.toJson(request("b1", "m", 1, null)) + "," + JsonCodec.toJson(request("b2", "m", 2, null)) + "]";
            JsonNode answers = JsonCodec.mapper().readTree(post(http, base + "/predict", batch).body());
            assertThat(answers).hasSize(2);
            assertThat(answers.get(0).get("sampleId").asText()).isEqualTo("b1");
            assertThat(answers.get(1).get("label").asInt()).isEqualTo(2);
            // and mistakes are answered with what to do
            HttpResponse<String> bad = post(http, base + "/predict", "{\"features\":{\"shape\":[3],\"float32\":[1,2,3]}}");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(JsonCodec.mapper().readTree(bad.body()).get("error").asText()).isEqualTo("SHAPE_MISMATCH");
            assertThat(post(http, base + "/predict", "{not json").statusCode()).isEqualTo(400);
            HttpResponse<String> other = post(http, base + "/predict", JsonCodec.toJson(request("o", "other", 1, null)));
            assertThat(other.statusCode()).isEqualTo(404);
            assertThat(JsonCodec.mapper().readTree(other.body()).get("message").asText())
                    .isEqualTo("this predictor serves model m, not other; send the request to that model's predictor");
            assertThat(get(http, base + "/predict").statusCode()).isEqualTo(405);

            // When GET /model, Then the version served, its hash and provenance
            HttpResponse<String> model = get(http, base + "/model");
            assertThat(model.statusCode()).isEqualTo(200);
            JsonNode info = JsonCodec.mapper().readTree(model.body());
            assertThat(info.get("version").asLong()).isEqualTo(1);
            assertThat(info.get("parameters").get("sha256").asText()).isEqualTo(service.subscriber().current().orElseThrow().sha256());
            assertThat(info.get("spec").get("inputShape").toString()).isEqualTo("[20]");
            assertThat(info.get("provenance").get("djlVersion").asText()).isEqualTo("0.36.0");
            assertThat(info.get("metrics").get("evalAccuracy").asDouble()).isEqualTo(0.95);

            // When LABEL feedback is posted, Then it is on the feedback topic
            HttpResponse<String> fb = post(http, base + "/feedback",
                    "{\"sampleId\":\"r7\",\"kind\":\"LABEL\",\"label\":2,\"annotator\":\"ann\",\"trust\":0.8,\"modelVersion\":1}");
            assertThat(fb.statusCode()).as(fb.body()).isEqualTo(202);
            assertThat(JsonCodec.mapper().readTree(fb.body()).get("topic").asText()).isEqualTo(topics.feedback().name());
            List<ConsumerRecord<String, Feedback>> written = TestRecords.consume(kafka, topics.feedback(), 1, WAIT);
            assertThat(written).singleElement().satisfies(w -> {
                assertThat(w.key()).isEqualTo("r7");
                assertThat(w.value().getKind()).isEqualTo(FeedbackKind.LABEL);
                assertThat(w.value().getLabel()).isEqualTo(2);
                assertThat(w.value().getModelId()).isEqualTo("m");
                assertThat(w.value().getTrust()).isEqualTo(0.8f);
                assertThat(w.value().getModelVersion()).isEqualTo(1L);
            });
            // and feedback the curator would refuse is refused here, before it is written
            HttpResponse<String> noLabel = post(http, base + "/feedback", "{\"sampleId\":\"r7\",\"kind\":\"LABEL\"}");
            assertThat(noLabel.statusCode()).isEqualTo(400);
            assertThat(JsonCodec.mapper().readTree(noLabel.body()).get("error").asText()).isEqualTo("MISSING_FIELD");

            assertThat(registry.get("rehearsal.predictor.predictions").tag("source", "http").counter().count()).isEqualTo(3);
            assertThat(registry.get("rehearsal.predictor.http.latency").timer().count()).isEqualTo(2);
            assertThat(registry.get("rehearsal.predictor.feedback").tag("kind", "LABEL").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.predictor.http.responses").tag("path", "/predict").tag("status", "400")
                    .counter().count()).isEqualTo(2);
        } finally {
            server.stop(0);
        }
    }

    private static HttpResponse<String> post(HttpClient http, String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
