package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.cli.ops.MetricsRegistry;
import io.rehearsal.cli.ops.OpsServer;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelListener;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The human-feedback loop closed end to end on a real broker: curator (Kafka Streams), trainer (DJL)
 * and predictor (subscriber, Kafka requests and HTTP API), each as it runs in production, in one JVM.
 * See {@link CorrectableProblem} for why the request is wrong until it is corrected.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FeedbackLoopIT {
    private static final Logger LOG = LoggerFactory.getLogger(FeedbackLoopIT.class);
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final String KEY = "e2e-signing-key-0123456789abcdef";
    /** Steps the trainer may take after the wrong answer's snapshot before a snapshot answers right. */
    private static final long STEP_BOUND = 100;

    private final HttpClient http = HttpClient.newHttpClient();

    private static CuratorSettings curatorSettings() {
        // B = 16 views = 4 groups of R = 4: 1 fresh sample and 3 recalls per step; the short-term store
        // recalls each sample twice (after 2, then 4 steps), the long-term buffer every 8 steps at most
        return CuratorSettings.defaults().optBatchSize(16).optViews(4).optFreshShare(0.25)
                .optLongTermCapacity(60).optShortTermCapacity(1000).optShortTermRecalls(2)
                .optIntervals(2, 8, 1).optIntervalGrowth(2).optFillRecalls(true)
                .optLinger(Duration.ofMillis(100)).optIdleReplay(Duration.ofMillis(250)).optEvalEverySteps(0)
                .optContract(ModelContract.flat(CorrectableProblem.DIMS, CorrectableProblem.CLASSES))
                .optModelIds(CorrectableProblem.MODEL).optSeed(7);
    }

    private static TrainerSettings trainerSettings() {
        return TrainerSettings.builder(CorrectableProblem.MODEL,
                        ModelSpec.mlp(CorrectableProblem.DIMS, CorrectableProblem.CLASSES, 32))
                .optAugment(AugmentSettings.none()).optSeed(7)
                .optSnapshotEvery(5, Duration.ofMillis(500))
                .optSigningKey(KEY)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-")
                .optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .build();
    }

    /** What the served model answers for the request, heard at each swap. */
    private record Answer(long version, long step, int label, float confidence) {
    }

    @Test
    void shouldPredictACorrectedRequestRightWithinBoundedStepsOfItsFeedback(KafkaCluster kafka, @TempDir Path state)
            throws Exception {
        Topics topics = kafka.newTopics();
        Map<String, Object> curatorProps = new HashMap<>(kafka.clientProperties());
        curatorProps.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        SimpleMeterRegistry curatorMetrics = new SimpleMeterRegistry();
        SimpleMeterRegistry trainerMetrics = new SimpleMeterRegistry();
        PrometheusMeterRegistry predictorMetrics = MetricsRegistry.create("predictor");
        PredictorSettings predictorSettings = PredictorSettings.builder(SubscriberSettings.builder(CorrectableProblem.MODEL).optFollow(Follow.LATEST)
                        .optVerifyKey(KEY).optPollTimeout(Duration.ofMillis(100)).build())
                .optPollTimeout(Duration.ofMillis(100)).build();
        CorrectableProblem problem = new CorrectableProblem(7);

        try (CuratorApp curator = new CuratorApp(curatorSettings(), topics, curatorProps, curatorMetrics);
             TrainerApp trainer = new TrainerApp(trainerSettings(), topics, kafka.bootstrapServers(), Map.of(), trainerMetrics);
             PredictionService predictor = new PredictionService(predictorSettings, topics, kafka.bootstrapServers(),
                     Map.of(), predictorMetrics);
             OpsServer server = OpsServer.start("127.0.0.1", 0, predictorMetrics, predictor::ready)) {
            // Given the three components running, the predictor's API beside its /metrics
            new PredictionHttpApi(predictor).routes().forEach(server::route);
            String api = "http://127.0.0.1:" + server.port();
            curator.start();
            assertThat(curator.awaitRunning(WAIT)).as("curator running").isTrue();
            CompletableFuture<Void> training = CompletableFuture.runAsync(trainer::run);
            predictor.start();
            ModelSubscriber models = predictor.subscriber();
            List<Answer> answers = new CopyOnWriteArrayList<>();
            models.addListener(new ModelListener() {
                @Override
                public void onNewVersion(ModelInfo previous, ModelInfo current) {
                    var p = models.predict(CorrectableProblem.request());
                    answers.add(new Answer(p.modelVersion(), current.step(), p.label(), p.confidence()));
                }
            });

            // and a model trained on 240 labeled samples (one fresh sample per step) that knows the three classes
            Map<String, Sample> stream = new LinkedHashMap<>();
            for (int i = 0; i < 240; i++) {
                stream.put("train-" + i, problem.labeled("train-" + i));
            }
            TestRecords.produce(kafka, topics.samples(), stream);
            awaitAnswer(models, () -> models.current().map(ModelInfo::step).orElse(0L) >= 240 && knowsTheClasses(api));

            // When an unlabeled request arrives on rehearsal.samples
            TestRecords.produce(kafka, topics.samples(),
                    Map.of("req-1", CorrectableProblem.sample("req-1", CorrectableProblem.request(), null)));
            // Then its prediction on rehearsal.predictions is wrong, and confident
            Prediction wrong = prediction(kafka, topics, "req-1");
            assertThat(wrong.getLabel()).as("the request's first answer").isNotEqualTo(CorrectableProblem.TRUE_LABEL);
            assertThat(wrong.getConfidence()).isGreaterThan(0.8f);
            long wrongStep = models.current().orElseThrow().version() == wrong.getModelVersion()
                    ? models.current().orElseThrow().step() : stepOf(answers, wrong.getModelVersion());

            // When a person corrects it through the predictor's POST /feedback
            HttpResponse<String> sent = post(api + "/feedback", JsonCodec.mapper().createObjectNode()
                    .put("sampleId", "req-1").put("kind", "LABEL").put("label", CorrectableProblem.TRUE_LABEL)
                    .put("annotator", "e2e").put("predictedLabel", wrong.getLabel())
                    .put("modelVersion", wrong.getModelVersion()).toString());
            assertThat(sent.statusCode()).as(sent.body()).isEqualTo(202);
            // and the stream goes on
            Map<String, Sample> more = new LinkedHashMap<>();
            for (int i = 240; i < 400; i++) {
                more.put("train-" + i, problem.labeled("train-" + i));
            }
            TestRecords.produce(kafka, topics.samples(), more);

            // Then within a bounded number of steps a newer snapshot predicts the request right
            awaitAnswer(models, () -> answers.stream().anyMatch(a -> a.label() == CorrectableProblem.TRUE_LABEL
                    && a.version() > wrong.getModelVersion()));
            Answer right = answers.stream().filter(a -> a.label() == CorrectableProblem.TRUE_LABEL
                    && a.version() > wrong.getModelVersion()).findFirst().orElseThrow();
            assertThat(right.step() - wrongStep).as("steps from the wrong answer's snapshot (step %d) to the first right "
                    + "one (version %d, step %d)", wrongStep, right.version(), right.step()).isLessThanOrEqualTo(STEP_BOUND);
            LOG.info("request req-1: version {} (step {}) answered {} with p={}; LABEL {} sent; version {} (step {}) answers {} "
                    + "with p={}: {} steps later", wrong.getModelVersion(), wrongStep, wrong.getLabel(), wrong.getConfidence(),
                    CorrectableProblem.TRUE_LABEL, right.version(), right.step(), right.label(), right.confidence(),
                    right.step() - wrongStep);
            // without forgetting class 0, whose centre the request shares but for the marker
            assertThat(knowsTheClasses(api)).isTrue();
            // and a new request with the same features is answered right on rehearsal.predictions
            TestRecords.produce(kafka, topics.samples(),
                    Map.of("req-2", CorrectableProblem.sample("req-2", CorrectableProblem.request(), null)));
            Prediction corrected = prediction(kafka, topics, "req-2");
            assertThat(corrected.getLabel()).isEqualTo(CorrectableProblem.TRUE_LABEL);
            assertThat(corrected.getModelVersion()).isGreaterThanOrEqualTo(right.version());
            // and over HTTP, by a version that GET /model describes, signed
            JsonNode model = JsonCodec.mapper().readTree(get(api + "/model").body());
            JsonNode answer = JsonCodec.mapper().readTree(post(api + "/predict",
                    JsonCodec.toJson(CorrectableProblem.sample("req-3", CorrectableProblem.request(), null))).body());
            assertThat(answer.get("label").asInt()).isEqualTo(CorrectableProblem.TRUE_LABEL);
            assertThat(model.get("signatureVerified").asBoolean()).isTrue();
            assertThat(model.get("version").asLong()).isGreaterThanOrEqualTo(right.version());

            // and the versions and the correction are visible in the metrics
            String scraped = get(api + "/metrics").body();
            assertThat(value(scraped, "rehearsal_predictor_feedback_total", "kind=\"LABEL\"")).isEqualTo(1);
            assertThat(value(scraped, "rehearsal_subscriber_model_version", "model=\"" + CorrectableProblem.MODEL + "\""))
                    .isGreaterThanOrEqualTo(right.version());
            assertThat(value(scraped, "rehearsal_subscriber_swaps_total", "model=")).isGreaterThanOrEqualTo(2);
            assertThat(value(scraped, "rehearsal_subscriber_snapshots_refused_total", "reason=\"BAD_SIGNATURE\"")).isZero();
            assertThat(value(scraped, "rehearsal_predictor_predictions_total", "source=\"kafka\"")).isEqualTo(2);
            assertThat(curatorMetrics.get("rehearsal.curator.feedback").tag("kind", "label").tag("outcome", "applied")
                    .counter().count()).isEqualTo(1);
            assertThat(trainerMetrics.get("rehearsal.trainer.snapshot.version").gauge().value())
                    .isGreaterThanOrEqualTo(right.version());

            trainer.stop();
            training.get(60, TimeUnit.SECONDS);
        }
    }

    /** Waits for a condition, checking it after each new version the subscriber serves, until the deadline. */
    private static void awaitAnswer(ModelSubscriber models, CheckedCondition condition) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.holds()) {
            assertThat(System.nanoTime()).as("condition within %s (serving version %d)", WAIT, models.version())
                    .isLessThan(deadline);
            models.awaitVersion(models.version() + 1, Duration.ofSeconds(2));
        }
    }

    @FunctionalInterface
    private interface CheckedCondition {
        boolean holds() throws Exception;
    }

    /** Whether the served model predicts each class centre as its class, over HTTP (a batch of three). */
    private boolean knowsTheClasses(String api) throws Exception {
        ArrayNode batch = JsonCodec.mapper().createArrayNode();
        for (int k = 0; k < CorrectableProblem.CLASSES; k++) {
            batch.add(JsonCodec.mapper().readTree(JsonCodec.toJson(CorrectableProblem.sample("centre-" + k,
                    CorrectableProblem.centre(k), null))));
        }
        HttpResponse<String> r = post(api + "/predict", batch.toString());
        if (r.statusCode() != 200) {
            return false; // 503 until a first model is served
        }
        JsonNode answers = JsonCodec.mapper().readTree(r.body());
        for (int k = 0; k < CorrectableProblem.CLASSES; k++) {
            if (answers.get(k).get("label").asInt() != k || answers.get(k).get("confidence").floatValue() < 0.9f) {
                return false;
            }
        }
        return true;
    }

    private static long stepOf(List<Answer> answers, long version) {
        return answers.stream().filter(a -> a.version() == version).findFirst().orElseThrow().step();
    }

    private static Prediction prediction(KafkaCluster kafka, Topics topics, String sampleId) {
        List<ConsumerRecord<String, Prediction>> all = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (all.stream().noneMatch(r -> r.key().equals(sampleId)) && System.nanoTime() < deadline) {
            all = TestRecords.consume(kafka, topics.predictions(), all.size() + 1, Duration.ofSeconds(5));
        }
        return all.stream().filter(r -> r.key().equals(sampleId)).findFirst()
                .orElseThrow(() -> new AssertionError("no prediction for " + sampleId + " within " + WAIT)).value();
    }

    /** The value of the first sample of a Prometheus metric whose labels contain {@code label}. */
    private static double value(String scraped, String metric, String label) {
        Matcher m = Pattern.compile("(?m)^" + metric + "\\{([^}]*)\\} (\\S+)$").matcher(scraped);
        while (m.find()) {
            if (m.group(1).contains(label)) {
                return Double.parseDouble(m.group(2));
            }
        }
        throw new AssertionError(metric + "{" + label + "} is not in /metrics");
    }

    private HttpResponse<String> post(String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
