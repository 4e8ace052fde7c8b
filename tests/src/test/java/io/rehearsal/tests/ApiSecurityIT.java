package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.cli.ops.MetricsRegistry;
import io.rehearsal.cli.ops.OpsServer;
import io.rehearsal.cli.ops.ServerTls;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.ApiTokens;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.promote.PromotionPolicy;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may do what through the predictor, as {@code rehearsal predictor --tls-keystore --api-tokens-file} serves it:
 * HTTPS only, every call with a token of the right role, feedback recorded under the token's identity and trust,
 * and an operator's pin through {@code POST /model/pin} recorded on the promotions topic with the token's identity.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ApiSecurityIT {
    private static final String MODEL = "secured";
    private static final String KEY = "api-security-it-signing-key-0123";
    private static final int DIMS = 8;
    private static final int CLASSES = 4;
    private static final String ANA = "ana-token-0123456789abcdef";
    private static final String OPS = "ops-token-0123456789abcdef";
    private static final Duration WAIT = Duration.ofSeconds(90);

    private static TrainBatch batch(BatchKind kind, long seq, SplittableRandom random) {
        List<TrainItem> items = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int label = i % CLASSES;
            float[] x = new float[DIMS];
            for (int d = 0; d < DIMS; d++) {
                x[d] = (float) (random.nextGaussian() * 0.5) + (d == label ? 3f : 0f);
            }
            items.add(new TrainItem(kind + "-" + seq + "-" + i, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, x),
                    kind == BatchKind.EVAL ? 1 : 2, i, kind == BatchKind.EVAL ? ItemRole.EVAL : ItemRole.FRESH, 0, "t0", 0, 0L,
                    Instant.now()));
        }
        return new TrainBatch(MODEL + "/0/" + seq, MODEL, 0, seq, kind, kind == BatchKind.EVAL ? 1 : 2, items,
                new ScheduleStats(32, 0, 0, 0, 0.0, 0, 0, CLASSES), seq, kind == BatchKind.EVAL ? 1L : null, Instant.now());
    }

    /** A client that trusts the throwaway CA (and nothing else). */
    private static HttpClient client(Path caCertificate) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caCertificate)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpResponse<String> send(HttpClient http, String url, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
        b = body == null ? b.GET() : b.POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeOnlyHttpsToTokenHoldersAndRecordWhoDidWhat(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a promoted model behind a predictor on HTTPS with three tokens
        Topics topics = kafka.newTopics();
        ThrowawayTls tls = ThrowawayTls.create(dir);
        ApiTokens tokens = ApiTokens.parse(List.of(ANA + " ana predict,feedback 0.7", OPS + " ops-carol operate"), "tokens");
        SplittableRandom random = new SplittableRandom(1);
        TestRecords.produce(kafka, topics.trainBatches(), Map.of(MODEL, batch(BatchKind.EVAL, 0, random)));
        for (int i = 1; i <= 5; i++) {
            TestRecords.produce(kafka, topics.trainBatches(), Map.of(MODEL, batch(BatchKind.TRAIN, i, random)));
        }
        PrometheusMeterRegistry registry = MetricsRegistry.create("predictor");
        try (TrainerApp trainer = new TrainerApp(TrainerSettings.builder(MODEL, ModelSpec.mlp(DIMS, CLASSES, 16))
                        .optSnapshotEvery(5, Duration.ofHours(1)).optSigningKey(KEY)
                        .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                        .optPollTimeout(Duration.ofMillis(100)).build(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             Promoter promoter = Promoter.start(PromoterSettings.builder(MODEL).optSigningKey(KEY)
                     .optPolicy(new PromotionPolicy(1, 1, 1, 0, 10)).optTransactionalIdPrefix("p-" + UUID.randomUUID() + "-")
                     .optPollTimeout(Duration.ofMillis(100)).build(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             PredictionService predictor = new PredictionService(PredictorSettings.builder(SubscriberSettings.builder(MODEL)
                     .optVerifyKey(KEY).optStartTimeout(Duration.ofMillis(200)).optPollTimeout(Duration.ofMillis(100)).build()).build(),
                     topics, kafka.bootstrapServers(), Map.of(), registry);
             ModelCommands commands = ModelCommands.create(topics, kafka.bootstrapServers(), Map.of(), Optional.of(KEY));
             OpsServer server = OpsServer.start("127.0.0.1", 0, registry, predictor::ready,
                     new PredictionHttpApi(predictor, Optional.of(tokens), () -> commands, WAIT).routes(),
                     Optional.of(ServerTls.context(tls.brokerKeyStore(), tls.password().toCharArray())))) {
            predictor.start();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (trainer.trainer().step() < 5) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                trainer.pollOnce();
            }
            await().atMost(WAIT).until(() -> predictor.current().map(i -> i.version() == 1).orElse(false));
            HttpClient https = client(tls.caCertificate());
            String api = "https://localhost:" + server.port();

            // Then plain HTTP gets no answer from it
            assertThatThrownBy(() -> send(HttpClient.newHttpClient(), "http://localhost:" + server.port() + "/health", null, null))
                    .isInstanceOf(IOException.class);
            // and /health, /ready and /metrics answer over HTTPS without a token (probes and Prometheus)
            assertThat(send(https, api + "/ready", null, null).statusCode()).isEqualTo(200);
            // but the API refuses a missing or wrong token
            String sample = JsonCodec.mapper().createObjectNode().set("features", JsonCodec.mapper().readTree(
                    "{\"shape\":[8],\"float32\":[3,0,0,0,0,0,0,0]}")).toString();
            assertThat(send(https, api + "/predict", null, sample).statusCode()).isEqualTo(401);
            assertThat(send(https, api + "/predict", "wrong-token-0123456789", sample).statusCode()).isEqualTo(401);
            // and answers ana's prediction
            HttpResponse<String> predicted = send(https, api + "/predict", ANA, sample);
            assertThat(predicted.statusCode()).as(predicted.body()).isEqualTo(200);
            assertThat(JsonCodec.mapper().readTree(predicted.body()).get("modelVersion").asLong()).isEqualTo(1);

            // When ana sends feedback, and then feedback that claims to be bob's
            HttpResponse<String> hers = send(https, api + "/feedback", ANA, "{\"sampleId\":\"s1\",\"kind\":\"LABEL\",\"label\":2}");
            HttpResponse<String> claimed = send(https, api + "/feedback", ANA,
                    "{\"sampleId\":\"s2\",\"kind\":\"LABEL\",\"label\":2,\"annotator\":\"bob\",\"trust\":1.0}");
            // Then hers is written as ana's with her token's trust, the claim refused and not written
            assertThat(hers.statusCode()).as(hers.body()).isEqualTo(202);
            assertThat(claimed.statusCode()).isEqualTo(403);
            List<Feedback> written = TestRecords.consume(kafka, topics.feedback(), 1, WAIT).stream().map(r -> r.value()).toList();
            assertThat(written).singleElement().satisfies(f -> {
                assertThat(f.getSampleId()).isEqualTo("s1");
                assertThat(f.getAnnotator()).isEqualTo("ana");
                assertThat(f.getTrust()).isEqualTo(0.7f);
            });

            // When ana tries to pin the model, and the operator does
            assertThat(send(https, api + "/model/pin", ANA, "{\"reason\":\"mine\"}").statusCode()).isEqualTo(403);
            HttpResponse<String> pin = send(https, api + "/model/pin", OPS, "{\"reason\":\"audit\",\"operator\":\"someone else\"}");
            // Then the pin is recorded as the operator token's, whatever the body says
            assertThat(pin.statusCode()).as(pin.body()).isEqualTo(200);
            JsonNode answer = JsonCodec.mapper().readTree(pin.body());
            assertThat(answer.get("action").asText()).isEqualTo("PINNED");
            assertThat(answer.get("actor").asText()).isEqualTo("ops-carol");
            try (PromotionReader reader = PromotionReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT, Optional.of(KEY))) {
                Promotion last = reader.history(MODEL).latest().orElseThrow();
                assertThat(last.getAction()).isEqualTo(PromotionAction.PINNED);
                assertThat(last.getActor()).isEqualTo("ops-carol");
                assertThat(last.getReason()).isEqualTo("audit");
            }
            await().atMost(WAIT).until(() -> predictor.release().map(r -> r.pinned()).orElse(false));
            JsonNode release = JsonCodec.mapper().readTree(send(https, api + "/model/release", OPS, null).body());
            assertThat(release.get("pinned").asBoolean()).isTrue();
            assertThat(release.get("promotedVersion").asLong()).isEqualTo(1);
        } finally {
            registry.close();
        }
    }
}
