package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.cli.Main;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.promote.PromotionPolicy;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.release.PromotionSigner;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What operators can do, and what subscribers see, on a real broker: a trainer driven step by step, its
 * promoter, a subscriber that follows promotions and one that follows the latest candidate, and the
 * {@code rehearsal model} and {@code rehearsal status} commands as an operator runs them. Pin, held candidates,
 * unpin, promotion, rollback (back to an older version), promotion by hand, a rejected command, and a forged
 * promotion refused by the subscriber.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ModelLifecycleIT {
    private static final String MODEL = "lifecycle";
    private static final String KEY = "lifecycle-it-signing-key-0123456789";
    private static final int DIMS = 12;
    private static final int CLASSES = 4;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final SplittableRandom random = new SplittableRandom(3);
    private long sequence;
    private Path keyFile;

    private TrainItem item(String id, ItemRole role) {
        int label = random.nextInt(CLASSES);
        float[] x = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            x[d] = (float) (random.nextGaussian() * 0.5) + (d == label ? 3f : 0f);
        }
        return new TrainItem(id, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, x), role == ItemRole.EVAL ? 1 : 2, 0,
                role, 0, "t" + label / 2, 0, 0L, Instant.now());
    }

    private void produce(KafkaCluster kafka, Topics topics, BatchKind kind, int items, String prefix) {
        List<TrainItem> list = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            TrainItem it = item(prefix + "-" + i, kind == BatchKind.EVAL ? ItemRole.EVAL : ItemRole.FRESH);
            it.setGroupId(i);
            list.add(it);
        }
        long seq = sequence++;
        TrainBatch b = new TrainBatch(MODEL + "/0/" + seq, MODEL, 0, seq, kind, kind == BatchKind.EVAL ? 1 : 2, list,
                new ScheduleStats(items, 0, 0, 0, 0.0, 0, 0, CLASSES), seq, kind == BatchKind.EVAL ? 1L : null, Instant.now());
        TestRecords.produce(kafka, topics.trainBatches(), Map.of(MODEL, b));
    }

    /** Trains on {@code batches} new TRAIN batches and publishes a snapshot: the next candidate. */
    private long candidate(KafkaCluster kafka, Topics topics, TrainerApp trainer, int batches) {
        long target = trainer.trainer().step() + batches;
        for (int b = 0; b < batches; b++) {
            produce(kafka, topics, BatchKind.TRAIN, 16, "train-" + sequence);
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (trainer.trainer().step() < target) {
            assertThat(System.nanoTime()).as("trained within %s", WAIT).isLessThan(deadline);
            trainer.pollOnce();
        }
        return trainer.publish().getVersion();
    }

    /** Runs {@code rehearsal <args>} in this JVM; the exit code, and what it printed. */
    private record Run(int code, String out, String err) {
    }

    private static Run cli(KafkaCluster kafka, Topics topics, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix()));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    private Run model(KafkaCluster kafka, Topics topics, String action, String... args) {
        List<String> all = new ArrayList<>(List.of("model", action, "--model-id", MODEL, "--snapshot-key-file", keyFile.toString()));
        all.addAll(List.of(args));
        return cli(kafka, topics, all.toArray(String[]::new));
    }

    @Test
    void shouldPinHoldUnpinRollBackAndPromoteByHandWhileSubscribersFollow(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        Topics topics = kafka.newTopics();
        keyFile = Files.writeString(dir.resolve("snapshot-key"), KEY);
        TrainerSettings trainerSettings = TrainerSettings.builder(MODEL, ModelSpec.mlp(DIMS, CLASSES, 16)).optSeed(5)
                .optSnapshotEvery(1_000_000, Duration.ofHours(1)).optSigningKey(KEY).optChunking(2048, 2048)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100)).build();
        // a lenient policy: this test is about what operators and subscribers do, PromotionIT about the policy
        PromoterSettings promoterSettings = PromoterSettings.builder(MODEL).optSigningKey(KEY)
                .optPolicy(new PromotionPolicy(0.5, 0.5, 0.5, 0.0, 10)).optPollTimeout(Duration.ofMillis(100)).build();
        SimpleMeterRegistry subscriberMetrics = new SimpleMeterRegistry();
        produce(kafka, topics, BatchKind.EVAL, 40, "eval");

        try (TrainerApp trainer = new TrainerApp(trainerSettings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             Promoter promoter = Promoter.start(promoterSettings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             ModelSubscriber promoted = ModelSubscriber.start(SubscriberSettings.builder(MODEL).optVerifyKey(KEY)
                     .optStartTimeout(Duration.ofMillis(200)).optPollTimeout(Duration.ofMillis(100)).build(), topics,
                     kafka.bootstrapServers(), Map.of(), subscriberMetrics);
             ModelSubscriber latest = ModelSubscriber.start(SubscriberSettings.builder(MODEL).optVerifyKey(KEY)
                     .optFollow(Follow.LATEST).optStartTimeout(Duration.ofMillis(200)).optPollTimeout(Duration.ofMillis(100))
                     .build(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            // Given version 1, promoted: the subscriber that follows promotions serves it
            long v1 = candidate(kafka, topics, trainer, 5);
            await().atMost(WAIT).until(() -> promoted.version() == v1);
            assertThat(promoted.follow()).isEqualTo(Follow.PROMOTED);
            assertThat(promoted.release().orElseThrow().action()).isEqualTo(PromotionAction.PROMOTED);

            // When an operator pins it
            Run pin = model(kafka, topics, "pin", "--operator", "ana", "--reason", "hold during the audit");
            assertThat(pin.code()).as(pin.err()).isZero();
            assertThat(pin.out()).startsWith("PINNED: hold during the audit (promotion ").contains(" by ana)")
                    .contains("model lifecycle: serving version 1 (PINNED)");
            // Then a candidate that passes the policy is held, and only the latest-candidate subscriber moves on
            long v2 = candidate(kafka, topics, trainer, 5);
            await().atMost(WAIT).until(() -> latest.version() == v2 && promoted.release().orElseThrow().latestVersion() == v2);
            assertThat(promoted.release().orElseThrow().action()).isEqualTo(PromotionAction.HELD);
            assertThat(promoted.release().orElseThrow().pinned()).isTrue();
            assertThat(promoted.version()).isEqualTo(v1);
            assertThat(subscriberMetrics.get("rehearsal.subscriber.latest.version").gauge().value()).isEqualTo(v2);
            assertThat(subscriberMetrics.get("rehearsal.subscriber.pinned").gauge().value()).isEqualTo(1.0);
            assertThat(subscriberMetrics.get("rehearsal.subscriber.promotion.held.back").gauge().value()).isPositive();

            // When it is unpinned, the next candidate is promoted and served
            assertThat(model(kafka, topics, "unpin", "--operator", "ana", "--reason", "audit done").code()).isZero();
            long v3 = candidate(kafka, topics, trainer, 5);
            await().atMost(WAIT).until(() -> promoted.version() == v3);

            // When an operator rolls back, the subscriber goes back to version 1, pinned there
            Run rollback = model(kafka, topics, "rollback", "--operator", "bob", "--reason", "v3 answers class 2 badly");
            assertThat(rollback.code()).as(rollback.err()).isZero();
            assertThat(rollback.out()).startsWith("ROLLED_BACK: v3 answers class 2 badly (pinned at version 1; unpin to let "
                    + "the policy promote again)");
            await().atMost(WAIT).until(() -> promoted.version() == v1);
            assertThat(promoted.release().orElseThrow().pinned()).isTrue();

            // When an operator promotes version 3 by hand, it is served again; a version that does not exist is rejected
            assertThat(model(kafka, topics, "promote", "--version", Long.toString(v3), "--operator", "bob",
                    "--reason", "false alarm").code()).isZero();
            await().atMost(WAIT).until(() -> promoted.version() == v3);
            Run missing = model(kafka, topics, "promote", "--version", "99", "--operator", "bob", "--reason", "typo");
            assertThat(missing.code()).isEqualTo(1);
            assertThat(missing.err()).startsWith("REJECTED: version 99 is not available");

            // and every decision is on the topic, signed, with who made it and why
            List<Promotion> history;
            try (PromotionReader reader = PromotionReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT, Optional.of(KEY))) {
                history = reader.history(MODEL).promotions();
            }
            assertThat(history).extracting(Promotion::getAction).containsSubsequence(PromotionAction.PROMOTED,
                    PromotionAction.PINNED, PromotionAction.HELD, PromotionAction.UNPINNED, PromotionAction.PROMOTED,
                    PromotionAction.ROLLED_BACK, PromotionAction.PROMOTED_BY_HAND, PromotionAction.REJECTED);
            assertThat(history).filteredOn(p -> p.getAction() == PromotionAction.ROLLED_BACK).singleElement()
                    .satisfies(p -> assertThat(p.getActor()).isEqualTo("bob"));
            Run list = model(kafka, topics, "list");
            assertThat(list.out()).contains("model lifecycle: serving version " + v3 + " (PINNED)").contains("PROMOTED_BY_HAND")
                    .contains("false alarm");
            JsonNode show = JsonCodec.mapper().readTree(model(kafka, topics, "show", "--version", Long.toString(v2), "--json").out());
            assertThat(show.get("action").asText()).isEqualTo("HELD");
            assertThat(show.get("evaluation").get("samples").asInt()).isEqualTo(40);

            // When someone without the key writes a promotion that would serve version 2
            Promotion forged = Promotion.newBuilder(history.get(history.size() - 1)).setSequence(1_000).setPromotedVersion(v2)
                    .setPinned(false).setAction(PromotionAction.PROMOTED_BY_HAND).setActor("mallory").build();
            new PromotionSigner("a key that is not the promoter's").sign(forged);
            TestRecords.produceRaw(kafka, List.of(new ProducerRecord<>(topics.promotions().name(),
                    topics.promotions().serializeKey(MODEL), topics.promotions().serializeValue(forged))));
            // Then the subscriber refuses it and keeps serving version 3
            await().atMost(WAIT).until(() -> subscriberMetrics.get("rehearsal.subscriber.promotions.refused")
                    .tag("reason", "BAD_SIGNATURE").counter().count() == 1);
            assertThat(promoted.version()).isEqualTo(v3);

            // and rehearsal status shows the model: promoted and latest, pinned, the last decision, the lag
            Run status = cli(kafka, topics, "status", "--model-id", MODEL, "--json", "--trainer-group-prefix",
                    trainerSettings.groupId().substring(0, trainerSettings.groupId().length() - MODEL.length()),
                    "--promoter-group-prefix", promoterSettings.transactionalIdPrefix(), "--snapshot-key-file",
                    keyFile.toString());
            assertThat(status.code()).as(status.err()).isZero();
            JsonNode report = JsonCodec.mapper().readTree(status.out()).get("models").get(0);
            assertThat(report.get("modelId").asText()).isEqualTo(MODEL);
            assertThat(report.get("promotedVersion").asLong()).isEqualTo(v3);
            assertThat(report.get("latestVersion").asLong()).isEqualTo(v3);
            assertThat(report.get("pinned").asBoolean()).isTrue();
            assertThat(report.get("lastDecision").get("action").asText()).isEqualTo("REJECTED");
            assertThat(report.get("lag")).anySatisfy(l -> {
                assertThat(l.get("component").asText()).isEqualTo("trainer");
                assertThat(l.get("lag").asLong()).isZero();
                assertThat(l.get("committed").asBoolean()).isTrue();
            });
            Run text = cli(kafka, topics, "status", "--model-id", MODEL);
            assertThat(text.out()).contains("MODEL", "PROMOTED", "LATEST", "lifecycle", "dead letters in the last hour");
        }
    }
}
