package io.rehearsal.models.predict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who may do what through the prediction API: a call without a valid token is refused, a token without the
 * route's role is refused, and feedback is recorded under the token's identity and trust, never the request's.
 */
class ApiAccessTest {
    private static final Topics TOPICS = Topics.defaults();
    private static final String ANA = "ana-token-0123456789";
    private static final String BOB = "bob-token-0123456789";
    private static final String OPS = "ops-token-0123456789";
    private final HttpClient http = HttpClient.newHttpClient();
    private MockProducer<byte[], byte[]> producer;
    private PredictionService service;
    private HttpServer server;
    private String base;

    @BeforeEach
    void serve() throws Exception {
        ApiTokens tokens = ApiTokens.parse(List.of(
                "# token identity roles trust",
                ANA + " ana predict,feedback 0.8",
                "sha256:" + SnapshotCodec.sha256(BOB.getBytes(StandardCharsets.UTF_8)) + " bob predict",
                OPS + " ops-carol operate"), "test");
        ModelSubscriber subscriber = ModelSubscriber.detached(SubscriberSettings.builder("m").build(), new SimpleMeterRegistry());
        producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        service = PredictionService.serving(PredictorSettings.builder(SubscriberSettings.builder("m").build()).build(),
                TOPICS, subscriber, producer, new SimpleMeterRegistry());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        new PredictionHttpApi(service, Optional.of(tokens), null, Duration.ofSeconds(1)).routes().forEach(server::createContext);
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        service.close();
    }

    private HttpResponse<String> post(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return JsonCodec.mapper().readTree(r.body());
    }

    @Test
    void shouldRefuseACallWithoutATokenOrWithAWrongOne() throws Exception {
        String feedback = "{\"sampleId\":\"s1\",\"kind\":\"CONFIRM\"}";

        HttpResponse<String> none = post("/feedback", null, feedback);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"rehearsal\"");
        assertThat(json(none).get("error").asText()).isEqualTo("UNAUTHENTICATED");
        assertThat(json(none).get("message").asText()).startsWith("/feedback needs a token");

        HttpResponse<String> wrong = post("/feedback", "not-a-token-of-ours", feedback);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(json(wrong).get("message").asText()).startsWith("the token is not valid");
        assertThat(post("/predict", null, "{}").statusCode()).isEqualTo(401);
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void shouldRefuseARoleTheTokenDoesNotHave() throws Exception {
        HttpResponse<String> r = post("/feedback", BOB, "{\"sampleId\":\"s1\",\"kind\":\"CONFIRM\"}");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(json(r).get("message").asText()).isEqualTo("bob may not POST /feedback: it needs the role feedback, "
                + "and the token has [predict]");
        assertThat(post("/model/pin", ANA, "{\"reason\":\"r\"}").statusCode()).as("ana cannot operate").isEqualTo(403);
        assertThat(post("/feedback", OPS, "{\"sampleId\":\"s1\",\"kind\":\"CONFIRM\"}").statusCode())
                .as("an operator gives no feedback").isEqualTo(403);
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void shouldRecordTheTokensIdentityAndTrustNotTheRequestsClaim() throws Exception {
        // When ana's token sends feedback that names no annotator and claims full trust
        HttpResponse<String> ok = post("/feedback", ANA, "{\"sampleId\":\"s1\",\"kind\":\"LABEL\",\"label\":2,\"trust\":1.0}");

        // Then it is written as ana's, with the trust configured for her token
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        assertThat(producer.history()).singleElement().satisfies(rec -> {
            Feedback f = TOPICS.feedback().deserializeValue(rec.value());
            assertThat(f.getAnnotator()).isEqualTo("ana");
            assertThat(f.getTrust()).isEqualTo(0.8f);
        });
    }

    @Test
    void shouldRefuseFeedbackThatClaimsAnotherAnnotator() throws Exception {
        HttpResponse<String> r = post("/feedback", ANA, "{\"sampleId\":\"s1\",\"kind\":\"REJECT\",\"annotator\":\"mallory\"}");

        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(json(r).get("error").asText()).isEqualTo("ANNOTATOR_MISMATCH");
        assertThat(json(r).get("message").asText()).startsWith("the feedback names annotator 'mallory' but the token is ana's");
        assertThat(producer.history()).isEmpty();
        // naming oneself is fine
        assertThat(post("/feedback", ANA, "{\"sampleId\":\"s1\",\"kind\":\"REJECT\",\"annotator\":\"ana\"}").statusCode())
                .isEqualTo(202);
    }

    @Test
    void shouldRefuseATokensFileThatIsWrongSayingWhere() {
        assertThatThrownBy(() -> ApiTokens.parse(List.of("short ana predict"), "tokens")).hasMessage(
                "tokens line 1: a token must be at least 16 characters");
        assertThatThrownBy(() -> ApiTokens.parse(List.of("", ANA + " ana predict,admin"), "tokens")).hasMessage(
                "tokens line 2: unknown role 'admin' (predict, feedback, operate)");
        assertThatThrownBy(() -> ApiTokens.parse(List.of(ANA + " ana predict 1.5"), "tokens")).hasMessage(
                "tokens line 1: trust must be in (0, 1], got 1.5");
        assertThatThrownBy(() -> ApiTokens.parse(List.of("# nothing"), "tokens")).hasMessage(
                "tokens holds no token: every request would be refused");
    }
}
