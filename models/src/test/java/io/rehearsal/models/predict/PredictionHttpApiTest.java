package io.rehearsal.models.predict;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP API over a detached subscriber and Kafka's MockProducer: what it answers before and after a model. */
class PredictionHttpApiTest {
    private static final Topics TOPICS = Topics.defaults();
    private final HttpClient http = HttpClient.newHttpClient();
    private ModelSubscriber subscriber;
    private MockProducer<byte[], byte[]> producer;
    private PredictionService service;
    private HttpServer server;
    private String base;

    @BeforeEach
    void serve() throws Exception {
        subscriber = ModelSubscriber.detached(SubscriberSettings.builder("m").build(), new SimpleMeterRegistry());
        producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        service = PredictionService.serving(PredictorSettings.builder(SubscriberSettings.builder("m").build()).build(),
                TOPICS, subscriber, producer, new SimpleMeterRegistry());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        new PredictionHttpApi(service).routes().forEach(server::createContext);
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        service.close();
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return JsonCodec.mapper().readTree(r.body());
    }

    @Test
    void shouldAnswer503UntilAModelIsServedThenPredict() throws Exception {
        String sample = "{\"features\":{\"shape\":[4],\"float32\":[1,0,0,0]}}";
        // Given no snapshot yet, When predicting, Then 503 with what to do
        HttpResponse<String> early = send("POST", "/predict", sample);
        assertThat(early.statusCode()).isEqualTo(503);
        assertThat(json(early).get("error").asText()).isEqualTo("NO_MODEL");
        assertThat(send("GET", "/model", null).statusCode()).isEqualTo(503);
        assertThat(service.ready()).isFalse();

        // When version 1 is offered, Then it answers with it
        ModelSpec spec = ModelSpec.mlp(4, 3, 8);
        byte[] blob;
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("m", spec).build())) {
            blob = SnapshotCodec.encodeParameters(t.parameters());
        }
        subscriber.offer(SnapshotCodec.snapshot("m", 1, null, 0, Instant.now(), spec.toAvro(), blob, List.of(),
                new SnapshotMetrics(0L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                new Provenance(Map.of(), 1L, List.of(), List.of(), 0, "t", "t", "17", "0.36.0", "2.7.1", "cpu()", "h"),
                Optional.empty()), ref -> null);
        HttpResponse<String> answer = send("POST", "/predict", sample);
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(json(answer).get("modelVersion").asLong()).isEqualTo(1);
        assertThat(json(answer).get("topK")).hasSize(3);
        assertThat(json(send("GET", "/model", null)).get("spec").get("numClasses").asInt()).isEqualTo(3);
        assertThat(service.ready()).isTrue();
    }

    @Test
    void shouldWriteValidFeedbackKeyedBySampleIdAndRefuseTheRest() throws Exception {
        HttpResponse<String> ok = send("POST", "/feedback", "{\"sampleId\":\"s9\",\"kind\":\"reject\",\"annotator\":\"ana\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        assertThat(producer.history()).singleElement().satisfies(r -> {
            assertThat(r.topic()).isEqualTo(TOPICS.feedback().name());
            assertThat(new String(r.key())).isEqualTo("s9");
            Feedback f = TOPICS.feedback().deserializeValue(r.value());
            assertThat(f.getModelId()).as("the predictor's model when none is given").isEqualTo("m");
            assertThat(f.getAnnotator()).isEqualTo("ana");
        });
        HttpResponse<String> badTrust = send("POST", "/feedback", "{\"sampleId\":\"s9\",\"kind\":\"CONFIRM\",\"trust\":0}");
        assertThat(badTrust.statusCode()).isEqualTo(400);
        assertThat(json(badTrust).get("message").asText()).isEqualTo("feedback for sample s9: trust 0.0 is outside (0, 1]");
        assertThat(send("POST", "/feedback", "[1,2]").statusCode()).isEqualTo(400);
        assertThat(send("GET", "/feedback", null).headers().firstValue("Allow")).contains("POST");
        assertThat(producer.history()).hasSize(1);
    }
}
