package io.rehearsal.cli.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the predictor's HTTP side answers to requests it cannot serve: a body that is not JSON (400, in this
 * project's words, never the parser's), a path nobody serves (404), a method a path does not take (405),
 * and a prediction before any model is loaded (503). No broker: a detached subscriber with no snapshot.
 */
class HttpErrorsTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static PredictionService service;
    private static OpsServer server;
    private static String base;

    @BeforeAll
    static void serve() {
        PredictorSettings settings = PredictorSettings.builder(SubscriberSettings.builder("m").build()).build();
        service = PredictionService.serving(settings, Topics.defaults(),
                ModelSubscriber.detached(settings.subscriber(), new SimpleMeterRegistry()),
                new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()), new SimpleMeterRegistry());
        server = OpsServer.start("127.0.0.1", 0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), service::ready,
                new PredictionHttpApi(service).routes());
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void close() {
        server.close();
        service.close();
    }

    @Test
    void shouldSayInItsOwnWordsWhatIsWrongWithABodyThatIsNotJson() throws Exception {
        // When a sample arrives with a typo, a truncated body and a repeated field, and feedback that is not JSON
        for (String[] c : new String[][] {
                {"/predict", "{\"features\": {\"shape\": [2], \"float32\": [1, 2]}, x}", "it breaks at line 1, column"},
                {"/predict", "{\"features\": {\"shape\": [2], \"float32\": [1, 2", "it ends at line 1, column"},
                {"/predict", "{\"id\": \"a\", \"id\": \"b\"}", "field \"id\" appears twice"},
                {"/feedback", "sampleId=s1&kind=LABEL", "it breaks at line 1, column 1"}}) {
            HttpResponse<String> r = post(c[0], c[1]);
            JsonNode body = JsonCodec.mapper().readTree(r.body());
            // Then each is a 400 MALFORMED_JSON saying where it breaks and what to send, without the parser's internals
            assertThat(r.statusCode()).as(c[1]).isEqualTo(400);
            assertThat(body.get("error").asText()).isEqualTo("MALFORMED_JSON");
            assertThat(body.get("message").asText()).as(c[1]).contains("the body is not valid JSON (" + c[2])
                    .contains("POST " + c[0] + " takes")
                    .doesNotContainIgnoringCase("jackson").doesNotContain("Unexpected character", "Source:", "REDACTED",
                            "StreamReadFeature", "code 120", "JsonParseException");
        }
    }

    @Test
    void shouldSayWhatToSendForAnEmptyBodyOrJsonThatIsNotAnObject() throws Exception {
        HttpResponse<String> empty = post("/predict", " ");
        assertThat(empty.statusCode()).isEqualTo(400);
        assertThat(error(empty)).isEqualTo("MALFORMED_JSON");
        assertThat(message(empty)).startsWith("the body is empty; POST /predict takes one sample as a JSON object like");

        HttpResponse<String> number = post("/feedback", "42");
        assertThat(number.statusCode()).isEqualTo(400);
        assertThat(error(number)).isEqualTo("WRONG_TYPE");
        assertThat(message(number)).contains("POST /feedback takes one JSON object like {\"sampleId\"");

        HttpResponse<String> array = post("/feedback", "[]");
        assertThat(array.statusCode()).isEqualTo(400);
        assertThat(message(array)).startsWith("feedback is one JSON object, not an array");
    }

    @Test
    void shouldAnswer404ForAPathNobodyServesNamingThoseServed() throws Exception {
        for (String path : new String[] {"/nope", "/", "/predictions", "/ready/now", "/metricsx"}) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(error(r)).isEqualTo("NOT_FOUND");
            assertThat(message(r)).isEqualTo("nothing is served at " + path
                    + "; this process serves /metrics, /health, /ready, /predict, /model, /feedback, /model/release, "
                    + "/model/promote, /model/pin, /model/unpin, /model/rollback");
        }
    }

    @Test
    void shouldAnswer405ForAMethodAPathDoesNotTake() throws Exception {
        HttpResponse<String> getPredict = get("/predict");
        assertThat(getPredict.statusCode()).isEqualTo(405);
        assertThat(getPredict.headers().firstValue("Allow")).hasValue("POST");
        assertThat(message(getPredict)).isEqualTo("/predict takes POST, not GET");

        assertThat(get("/feedback").statusCode()).isEqualTo(405);
        HttpResponse<String> postModel = post("/model", "{}");
        assertThat(postModel.statusCode()).isEqualTo(405);
        assertThat(postModel.headers().firstValue("Allow")).hasValue("GET");

        for (String path : new String[] {"/metrics", "/health", "/ready"}) {
            HttpResponse<String> r = post(path, "");
            assertThat(r.statusCode()).as(path).isEqualTo(405);
            assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD");
            assertThat(error(r)).isEqualTo("METHOD_NOT_ALLOWED");
        }
    }

    @Test
    void shouldSayAliveButNotReadyAndAnswer503BeforeAModelIsLoaded() throws Exception {
        // Given a predictor with no model yet
        // Then it is alive, not ready, and /predict and /model say why they cannot answer
        HttpResponse<String> health = get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("alive\n");
        assertThat(get("/ready").statusCode()).isEqualTo(503);
        HttpResponse<String> predict = post("/predict", "{\"features\":{\"shape\":[2],\"float32\":[1,2]}}");
        assertThat(predict.statusCode()).isEqualTo(503);
        assertThat(error(predict)).isEqualTo("NO_MODEL");
        assertThat(message(predict)).startsWith("model m has no verified snapshot loaded yet");
        assertThat(get("/model").statusCode()).isEqualTo(503);
    }

    private static String error(HttpResponse<String> r) throws Exception {
        return JsonCodec.mapper().readTree(r.body()).get("error").asText();
    }

    private static String message(HttpResponse<String> r) throws Exception {
        return JsonCodec.mapper().readTree(r.body()).get("message").asText();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
