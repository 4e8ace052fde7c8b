package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.testkit.Tool;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.promote.PromotionPolicy;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.CommandAction;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Python examples of docs/subscribing.md against a real trainer's snapshots: read_snapshot.py reads,
 * verifies and rebuilds the weights a {@link TrainerApp} published (inline or chunked, signed), or the version a
 * {@link Promoter} promoted (its signed promotion, the weights on the releases topic), and requests from
 * produce_samples.py are answered by the Java predictor.
 */
@ExtendWith(KafkaBrokerExtension.class)
@RequiresTool({Tool.PYTHON_CONFLUENT_KAFKA, Tool.PYTHON_AVRO, Tool.PYTHON_NUMPY})
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SubscribingExamplesIT {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final String KEY = "python-signing-key-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static TrainerSettings.Builder trainer(String modelId) {
        return TrainerSettings.builder(modelId, ModelSpec.mlp(DIMS, CLASSES, 32)).optLambda(1f, 5, 5).optSeed(11)
                .optSnapshotEvery(5, Duration.ofHours(1)).optSigningKey(KEY)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100));
    }

    /** {@code n} TRAIN batches of 8 random items, 2 views each. */
    private static void produceBatches(KafkaCluster kafka, Topics topics, String modelId, int n) {
        produceBatches(kafka, topics, modelId, 0, n);
    }

    /** TRAIN batches {@code first} to {@code first + n - 1} (their sequence numbers) of 8 random items, 2 views each. */
    private static void produceBatches(KafkaCluster kafka, Topics topics, String modelId, int first, int n) {
        SplittableRandom random = new SplittableRandom(5 + first);
        for (int b = first; b < first + n; b++) {
            List<TrainItem> items = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                float[] x = new float[DIMS];
                int label = random.nextInt(CLASSES);
                for (int d = 0; d < DIMS; d++) {
                    x[d] = (float) random.nextGaussian() + (d % CLASSES == label ? 2f : 0f);
                }
                items.add(new TrainItem("s" + b + "-" + i, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, x), 2, i,
                        ItemRole.FRESH, 0, null, 0, (long) b, Instant.now()));
            }
            TrainBatch batch = new TrainBatch(modelId + "/0/" + b, modelId, 0, (long) b, BatchKind.TRAIN, 2, items,
                    new ScheduleStats(8, 0, 0, 0, 0.0, 0, 0, CLASSES), (long) b, null, Instant.now());
            TestRecords.produce(kafka, topics.trainBatches(), Map.of(modelId, batch));
        }
    }

    private static void pollUntil(TrainerApp app, long steps) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (app.trainer().step() < steps) {
            assertThat(System.nanoTime()).as("trained %d steps within %s", steps, WAIT).isLessThan(deadline);
            app.pollOnce();
        }
    }

    private static List<String> readSnapshot(KafkaCluster kafka, Topics topics, String modelId, String... extra) {
        List<String> command = new ArrayList<>(List.of(Tools.python(),
                Tools.repo().resolve("examples/python/read_snapshot.py").toString(), "--bootstrap-servers",
                kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", modelId, "--json",
                "--timeout", "30"));
        command.addAll(List.of(extra));
        return command;
    }

    @ParameterizedTest(name = "chunked={0}")
    @ValueSource(booleans = {false, true})
    void shouldReadVerifyAndRebuildTheLatestSnapshotOfARealTrainerInPython(boolean chunked, KafkaCluster kafka) throws Exception {
        // Given a trainer that published versions 1 and 2 (steps 5 and 10) and then 3 (step 12), signed
        Topics topics = kafka.newTopics();
        String model = chunked ? "py-chunked" : "py-inline";
        TrainerSettings.Builder settings = trainer(model);
        if (chunked) {
            settings.optChunking(1024, 1024); // ~4 KB of weights: 5 chunks
        }
        produceBatches(kafka, topics, model, 12);
        ModelSnapshot last;
        List<NamedTensor> weights;
        try (TrainerApp app = new TrainerApp(settings.build(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(app, 12);
            last = app.publish();
            weights = app.trainer().parameters();
        }
        long count = 0;
        double sum = 0;
        for (NamedTensor t : weights) {
            count += t.data().length;
            for (float v : t.data()) {
                sum += v;
            }
        }

        // When read_snapshot.py reads the latest snapshot with the signing key
        JsonNode summary = JsonCodec.mapper().readTree(lastLine(Tools.run(readSnapshot(kafka, topics, model, "--key", KEY,
                "--follow", "latest"))));

        // Then it is version 3, verified, and its numpy arrays are the trainer's weights
        assertThat(summary.get("model").asText()).isEqualTo(model);
        assertThat(summary.get("version").asLong()).isEqualTo(3);
        assertThat(summary.get("step").asLong()).isEqualTo(12);
        assertThat(summary.get("sha256").asText()).isEqualTo(last.getParameters().getSha256());
        assertThat(summary.get("chunks").asInt()).isEqualTo(last.getParameters().getChunks().size());
        assertThat(summary.get("chunks").asInt() > 1).as("chunked").isEqualTo(chunked);
        assertThat(summary.get("signature").asText()).isEqualTo("verified");
        assertThat(summary.get("parameters").asLong()).isEqualTo(count);
        assertThat(summary.get("checksum").asDouble()).isCloseTo(sum, within(1e-6));
        assertThat(summary.get("arrays").get("02Linear_weight").toString()).isEqualTo("[32,20]");
        assertThat(summary.get("arrays")).hasSize(weights.size());

        // and with another key it refuses the snapshot, saying why
        assertThatThrownBy(() -> Tools.run(readSnapshot(kafka, topics, model, "--key", "not the trainer's key!", "--follow",
                "latest"))).hasMessageContaining("version 3 has a signature that does not match");
    }

    @Test
    void shouldReadThePromotedVersionFromItsPromotionInPythonAndRefuseAForgedOne(KafkaCluster kafka) throws Exception {
        // Given held-out samples, a trainer and a promoter: version 1 promoted, then pinned, then version 2 held
        Topics topics = kafka.newTopics();
        String model = "py-promoted";
        SplittableRandom random = new SplittableRandom(9);
        List<TrainItem> held = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            float[] x = new float[DIMS];
            int label = i % CLASSES;
            for (int d = 0; d < DIMS; d++) {
                x[d] = (float) random.nextGaussian() + (d % CLASSES == label ? 2f : 0f);
            }
            held.add(new TrainItem("eval-" + i, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, x), 1, i, ItemRole.EVAL, 0,
                    "t" + label / 2, 0, 0L, Instant.now()));
        }
        TestRecords.produce(kafka, topics.trainBatches(), Map.of(model, new TrainBatch(model + "/0/e", model, 0, 0L,
                BatchKind.EVAL, 1, held, new ScheduleStats(0, 0, 0, 0, 0.0, 0, 0, CLASSES), 0L, 1L, Instant.now())));
        // five batches now, five once the model is pinned: one poll may take every batch on the topic, and the
        // trainer publishes every 5 steps, so version 2 must not exist before the pin
        produceBatches(kafka, topics, model, 0, 5);
        PromoterSettings promoterSettings = PromoterSettings.builder(model).optSigningKey(KEY)
                .optPolicy(new PromotionPolicy(1, 1, 1, 0, 10)).optTransactionalIdPrefix("p-" + UUID.randomUUID() + "-")
                .optChunkBytes(1024) // the released weights (about 5 KB) in several chunks, read back one by one
                .optPollTimeout(Duration.ofMillis(100)).build();
        try (TrainerApp app = new TrainerApp(trainer(model).optChunking(1024, 1024).build(), topics, kafka.bootstrapServers(),
                Map.of(), new SimpleMeterRegistry());
             Promoter promoter = Promoter.start(promoterSettings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             ModelCommands commands = ModelCommands.create(topics, kafka.bootstrapServers(), Map.of(), Optional.of(KEY))) {
            pollUntil(app, 5);
            await().atMost(WAIT).until(() -> promoter.promotedVersion() == 1);
            Promotion pinned = commands.apply(ModelCommands.command(model, CommandAction.PIN, null, "ana", "hold it"), WAIT);
            assertThat(pinned.getAction()).isEqualTo(PromotionAction.PINNED);
            produceBatches(kafka, topics, model, 5, 5);
            pollUntil(app, 10);
            await().atMost(WAIT).until(() -> promoter.judgedVersion() == 2);
        }

        // When read_snapshot.py reads what is promoted, with the key
        JsonNode promoted = JsonCodec.mapper().readTree(lastLine(Tools.run(readSnapshot(kafka, topics, model, "--key", KEY))));

        // Then it is version 1, verified, its weights read from the releases topic, while version 2 waits
        assertThat(promoted.get("version").asLong()).isEqualTo(1);
        assertThat(promoted.get("signature").asText()).isEqualTo("verified");
        assertThat(promoted.get("chunks").asInt()).isGreaterThan(1);
        assertThat(promoted.get("promotion").get("signature").asText()).isEqualTo("verified");
        assertThat(promoted.get("promotion").get("action").asText()).isEqualTo("HELD");
        assertThat(promoted.get("promotion").get("pinned").asBoolean()).isTrue();
        assertThat(promoted.get("promotion").get("latestVersion").asLong()).isEqualTo(2);
        JsonNode latest = JsonCodec.mapper().readTree(lastLine(Tools.run(readSnapshot(kafka, topics, model, "--key", KEY,
                "--follow", "latest"))));
        assertThat(latest.get("version").asLong()).isEqualTo(2);

        // and a promotion signed with another key is refused, saying why
        assertThatThrownBy(() -> Tools.run(readSnapshot(kafka, topics, model, "--key", "not the promoter's key!")))
                .hasMessageContaining("has a signature that does not match (altered, or signed with another key): refusing it");
    }

    @Test
    void shouldAnswerRequestsProducedFromPython(KafkaCluster kafka) throws Exception {
        // Given a trained model and its predictor
        Topics topics = kafka.newTopics();
        String model = "py-requests";
        produceBatches(kafka, topics, model, 5);
        try (TrainerApp app = new TrainerApp(trainer(model).build(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(app, 5);
            assertThat(app.version()).isEqualTo(1);
        }
        PredictorSettings settings = PredictorSettings.builder(SubscriberSettings.builder(model).optFollow(Follow.LATEST).optVerifyKey(KEY)
                .optPollTimeout(Duration.ofMillis(100)).build()).optPollTimeout(Duration.ofMillis(100)).build();
        try (PredictionService predictor = new PredictionService(settings, topics, kafka.bootstrapServers(), Map.of(),
                new SimpleMeterRegistry()).start()) {
            // When produce_samples.py sends 5 Avro and 5 JSON requests without labels
            String script = Tools.repo().resolve("examples/python/produce_samples.py").toString();
            for (String form : List.of("avro", "json")) {
                List<String> command = new ArrayList<>(List.of(Tools.python(), script, "--bootstrap-servers",
                        kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", model, "--count", "5",
                        "--size", Integer.toString(DIMS), "--unlabeled", "--id-prefix", form));
                if (form.equals("json")) {
                    command.add("--json");
                }
                Tools.run(command);
            }
            // Then the Java predictor answers each of them with version 1
            List<ConsumerRecord<String, Prediction>> predictions = TestRecords.consume(kafka, topics.predictions(), 10, WAIT);
            assertThat(predictions).extracting(ConsumerRecord::key).containsExactlyInAnyOrder(
                    "avro-0", "avro-1", "avro-2", "avro-3", "avro-4", "json-0", "json-1", "json-2", "json-3", "json-4");
            assertThat(predictions).allSatisfy(r -> {
                assertThat(r.value().getModelVersion()).isEqualTo(1);
                assertThat(r.value().getLabel()).isBetween(0, CLASSES - 1);
            });
        }
    }

    private static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1];
    }
}
