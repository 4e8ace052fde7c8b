package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.testkit.Tool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bring your own model, end to end (docs/byo-models.md): a module exported with Debian's python3-torch
 * (examples/models/export.py) is trained by a real {@link TrainerApp} on a small class-incremental stream of
 * batches through Kafka; the Java {@link ModelSubscriber} loads the published snapshot (module by reference,
 * weights chunked, signed), and a Python subscriber (read_snapshot.py, then predict.py with torch.jit.load)
 * reproduces its predictions. Both follow the trainer's latest snapshot (no promoter runs here).
 */
@ExtendWith(KafkaBrokerExtension.class)
@RequiresTool({Tool.PYTHON_TORCH, Tool.PYTHON_CONFLUENT_KAFKA, Tool.PYTHON_AVRO, Tool.PYTHON_NUMPY})
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TorchScriptModelsIT {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final String KEY = "byo-signing-key-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** {@code n} TRAIN batches of 8 items, 2 views each: classes 0 and 1 first, then 2 and 3 (class-incremental). */
    private static void produceBatches(KafkaCluster kafka, Topics topics, String modelId, int n) {
        SplittableRandom random = new SplittableRandom(5);
        for (int b = 0; b < n; b++) {
            List<TrainItem> items = new ArrayList<>();
            String task = b < n / 2 ? "t0" : "t1";
            for (int i = 0; i < 8; i++) {
                int label = (b < n / 2 ? 0 : 2) + random.nextInt(2);
                items.add(new TrainItem("s" + b + "-" + i, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, sample(random, label)),
                        2, i, ItemRole.FRESH, 0, task, 0, (long) b, Instant.now()));
            }
            TrainBatch batch = new TrainBatch(modelId + "/0/" + b, modelId, 0, (long) b, BatchKind.TRAIN, 2, items,
                    new ScheduleStats(8, 0, 0, 0, 0.0, 0, 0, CLASSES), (long) b, null, Instant.now());
            TestRecords.produce(kafka, topics.trainBatches(), Map.of(modelId, batch));
        }
    }

    private static float[] sample(SplittableRandom random, int label) {
        float[] x = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            x[d] = (float) random.nextGaussian() + (d % CLASSES == label ? 2f : 0f);
        }
        return x;
    }

    @Test
    void shouldTrainAUsersModuleThroughKafkaAndPredictTheSameInJavaAndPython(@TempDir Path dir, KafkaCluster kafka)
            throws Exception {
        // Given a user's module (an MLP head with dropout), exported with torch.jit.script
        Path file = dir.resolve("head.pt");
        Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/models/export.py").toString(), "head",
                "--dim", Integer.toString(DIMS), "--hidden", "32", "--classes", Integer.toString(CLASSES), "--out",
                file.toString()));
        TorchScriptModule module = TorchScriptModule.fromArch("torchscript:" + file).orElseThrow();
        Topics topics = kafka.newTopics();
        String model = "byo";
        TrainerSettings settings = TrainerSettings.builder(model, module.spec(List.of(DIMS), CLASSES, Map.of()))
                .optModule(module).optLambda(1f, 5, 5).optSeed(11).optSnapshotEvery(5, Duration.ofHours(1))
                .optSigningKey(KEY).optChunking(1024, 2048)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100)).build();

        // When a trainer trains it on 12 class-incremental batches through Kafka (versions 1, 2 and a last one)
        produceBatches(kafka, topics, model, 12);
        ModelSnapshot last;
        try (TrainerApp app = new TrainerApp(settings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (app.trainer().step() < 12) {
                assertThat(System.nanoTime()).as("trained 12 steps within %s", WAIT).isLessThan(deadline);
                app.pollOnce();
            }
            last = app.publish();
        }
        assertThat(last.getVersion()).isEqualTo(3);
        assertThat(last.getArchitecture().getSha256()).isEqualTo(module.sha256());
        assertThat(last.getArchitecture().getChunks()).hasSize((module.size() + 2047) / 2048);
        assertThat(last.getParameters().getChunks()).hasSizeGreaterThan(1);

        // Then the Java subscriber serves version 3 with the module and its weights
        SplittableRandom random = new SplittableRandom(99);
        List<float[]> probes = new ArrayList<>();
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            float[] x = sample(random, i % CLASSES);
            probes.add(x);
            for (int d = 0; d < DIMS; d++) {
                rows.append(d == 0 ? "" : " ").append(x[d]);
            }
            rows.append('\n');
        }
        List<ModelPrediction> java;
        try (ModelSubscriber subscriber = ModelSubscriber.start(SubscriberSettings.builder(model).optVerifyKey(KEY)
                        .optFollow(Follow.LATEST).build(),
                topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            assertThat(subscriber.awaitVersion(3, WAIT)).isTrue();
            java = subscriber.predict(probes);
        }
        // and read_snapshot.py verifies it and writes the module and the weights
        Path weights = dir.resolve("weights.npz");
        Path pulled = dir.resolve("module.pt");
        String out = Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/python/read_snapshot.py").toString(),
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", model,
                "--follow", "latest", "--key", KEY, "--out", weights.toString(), "--module-out", pulled.toString(), "--json", "--timeout", "30"));
        String[] lines = out.strip().split("\n");
        JsonNode summary = JsonCodec.mapper().readTree(lines[lines.length - 1]);
        assertThat(summary.get("version").asLong()).isEqualTo(3);
        assertThat(summary.get("signature").asText()).isEqualTo("verified");
        assertThat(summary.get("architecture").asText()).isEqualTo(module.sha256());
        assertThat(summary.get("arrays").get("head.weight").toString()).isEqualTo("[" + CLASSES + ",32]");
        assertThat(Files.readAllBytes(pulled)).isEqualTo(module.bytes());
        // and predict.py (torch.jit.load + the NPZ) gives the Java subscriber's class probabilities
        Path inputs = dir.resolve("x.txt");
        Files.writeString(inputs, rows);
        String predicted = Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/models/predict.py").toString(),
                "--module", pulled.toString(), "--weights", weights.toString(), "--inputs", inputs.toString(),
                "--shape", Integer.toString(DIMS)));
        List<String> python = predicted.strip().lines().toList();
        assertThat(python).hasSize(probes.size());
        int correct = 0;
        for (int i = 0; i < probes.size(); i++) {
            String[] values = python.get(i).trim().split(" ");
            assertThat(Integer.parseInt(values[0])).isEqualTo(java.get(i).label());
            for (int k = 0; k < CLASSES; k++) {
                assertThat(Double.parseDouble(values[k + 1])).isCloseTo(java.get(i).probabilities()[k], within(1e-5));
            }
            correct += java.get(i).label() == i % CLASSES ? 1 : 0;
        }
        // and the model learned both tasks' classes (not a model that predicts one class for everything)
        assertThat(correct).isGreaterThan(probes.size() / 2);
    }
}
