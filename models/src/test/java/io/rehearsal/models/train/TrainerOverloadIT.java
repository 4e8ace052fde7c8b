package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Overload: a trainer behind the curator sheds TRAIN batches older than the maximum batch age, and (fresh first)
 * trains only the fresh items of batches older than the recall-shed age, packed into full steps.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TrainerOverloadIT {
    private static final Instant NOW = Instant.parse("2026-12-07T00:00:00Z");

    @Test
    void shouldShedTrainBatchesOlderThanTheMaximumAgeCountThemAndCoverTheirOffsets(KafkaCluster kafka) {
        // Given 6 TRAIN batches created 10 s before the trainer reads them, then an EVAL batch and 4 TRAIN batches
        // created 1 s before
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("busy", 20, 4, 5);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            batches.add(created(stream.trainBatch(8, 2), NOW.minusSeconds(10)));
        }
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ys.add(i % 4);
            xs.add(stream.sample(i % 4));
        }
        batches.add(created(stream.evalBatch(xs, ys, 0), NOW.minusSeconds(10)));
        for (int i = 0; i < 4; i++) {
            batches.add(created(stream.trainBatch(8, 2), NOW.minusSeconds(1)));
        }
        produce(kafka, topics, batches);
        TrainerSettings s = TrainerSettings.builder("busy", ModelSpec.mlp(20, 4, 16))
                .optSnapshotEvery(1_000, Duration.ofHours(1))
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .optMaxBatchAge(Duration.ofSeconds(5)).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry, PublishHook.NONE,
                Clock.fixed(NOW, ZoneOffset.UTC))) {
            pollUntilTrainedAndEvaluated(app, 4, 8);
            ModelSnapshot snapshot = app.publish();

            // Then the old TRAIN batches are shed and counted by role, the EVAL batch is evaluated all the same,
            // and the recent ones are trained
            assertThat(app.trainer().step()).isEqualTo(4);
            assertThat(registry.get("rehearsal.trainer.batches.shed").counter().count()).isEqualTo(6);
            assertThat(registry.get("rehearsal.trainer.items.shed").tag("role", "fresh").counter().count()).isEqualTo(6 * 8);
            // and the snapshot covers every batch, shed or trained: freshness no longer waits for the backlog
            assertThat(snapshot.getProvenance().getBatchOffsets()).singleElement()
                    .satisfies(o -> assertThat(o.getOffset()).isEqualTo(11L));
            assertThat(snapshot.getProvenance().getSettings()).containsEntry("maxBatchAge", "PT5S");
        }
        List<ModelSnapshot> committed = TestRecords.consume(kafka, topics.modelUpdates(), 1, Duration.ofSeconds(30)).stream()
                .map(ConsumerRecord::value).toList();
        assertThat(committed).extracting(ModelSnapshot::getStep).containsExactly(4L);
        assertThat(batches.get(6).getKind()).isEqualTo(BatchKind.EVAL);
    }

    @Test
    void shouldTrainTheFreshItemsOfLateBatchesPackedIntoFullStepsAndShedTheirRecalls(KafkaCluster kafka) {
        // Given batches of 2 fresh and 6 recalled items (2 views each): 3 created 30 s before the trainer reads them
        // (past the maximum age), 8 created 10 s before (past the recall-shed age), an EVAL batch as old, then 2
        // created 1 s before
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("late", 20, 4, 7);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            batches.add(created(mixed(stream), NOW.minusSeconds(30)));
        }
        List<TrainBatch> late = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            late.add(created(mixed(stream), NOW.minusSeconds(10)));
        }
        batches.addAll(late);
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ys.add(i % 4);
            xs.add(stream.sample(i % 4));
        }
        batches.add(created(stream.evalBatch(xs, ys, 0), NOW.minusSeconds(10)));
        List<TrainBatch> recent = List.of(created(mixed(stream), NOW.minusSeconds(1)), created(mixed(stream), NOW.minusSeconds(1)));
        batches.addAll(recent);
        produce(kafka, topics, batches);
        TrainerSettings s = TrainerSettings.builder("late", ModelSpec.mlp(20, 4, 16))
                .optSnapshotEvery(1_000, Duration.ofHours(1)).optSeed(5)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .optRecallShedAge(Duration.ofSeconds(5)).optMaxBatchAge(Duration.ofSeconds(20)).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry, PublishHook.NONE,
                Clock.fixed(NOW, ZoneOffset.UTC));
             ContinualTrainer expected = new ContinualTrainer(s)) {
            pollUntilTrainedAndEvaluated(app, 4, 8);
            ModelSnapshot snapshot = app.publish();

            // Then the oldest are shed whole, the late ones' 16 fresh items are trained in two steps of 16 views (a
            // batch's worth) and their recalls shed, the EVAL batch is evaluated, the recent ones are trained whole
            assertThat(app.trainer().step()).isEqualTo(4);
            assertThat(registry.get("rehearsal.trainer.batches.shed").counter().count()).isEqualTo(3);
            assertThat(registry.get("rehearsal.trainer.batches.packed").counter().count()).isEqualTo(8);
            assertThat(registry.get("rehearsal.trainer.items.shed").tag("role", "fresh").counter().count()).isEqualTo(3 * 2);
            assertThat(registry.get("rehearsal.trainer.items.shed").tag("role", "recall").counter().count())
                    .isEqualTo(3 * 6 + 8 * 6);
            assertThat(registry.get("rehearsal.trainer.samples").counter().count()).isEqualTo(4 * 16);
            assertThat(snapshot.getProvenance().getBatchOffsets()).singleElement()
                    .satisfies(o -> assertThat(o.getOffset()).isEqualTo(14L));
            assertThat(snapshot.getProvenance().getSettings()).containsEntry("recallShedAge", "PT5S");
            // and the weights are those of a trainer given exactly these four steps: the fresh items of late batches
            // 1-4, of late batches 5-8, then the two recent batches whole
            expected.train(freshOf(late.subList(0, 4)));
            expected.train(freshOf(late.subList(4, 8)));
            recent.forEach(expected::train);
            assertBitIdentical(app.trainer().parameters(), expected.parameters());
        }
    }

    /** A batch of 2 fresh and 6 recalled items, 2 views each. */
    private static TrainBatch mixed(SyntheticStream stream) {
        TrainBatch b = stream.trainBatch(8, 2);
        for (int i = 2; i < 8; i++) {
            b.getItems().get(i).setRole(ItemRole.RECALL);
        }
        return b;
    }

    private static TrainBatch freshOf(List<TrainBatch> batches) {
        List<TrainItem> fresh = new ArrayList<>();
        for (TrainBatch b : batches) {
            for (TrainItem item : b.getItems()) {
                if (item.getRole() == ItemRole.FRESH) {
                    TrainItem copy = TrainItem.newBuilder(item).build();
                    copy.setGroupId(fresh.size());
                    fresh.add(copy);
                }
            }
        }
        return TrainBatch.newBuilder(batches.get(batches.size() - 1)).setItems(fresh).build();
    }

    private static void produce(KafkaCluster kafka, Topics topics, List<TrainBatch> batches) {
        TestRecords.produceRaw(kafka, batches.stream().map(b -> new ProducerRecord<>(topics.trainBatches().name(),
                topics.trainBatches().serializeKey(b.getModelId()), topics.trainBatches().serializeValue(b))).toList());
    }

    /** Polls until the trainer took {@code steps} steps and evaluated {@code evals} items, within a minute. */
    private static void pollUntilTrainedAndEvaluated(TrainerApp app, long steps, int evals) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (app.trainer().step() < steps || app.trainer().evals().size() < evals) {
            assertThat(System.nanoTime()).as("deadline").isLessThan(deadline);
            app.pollOnce();
        }
    }

    private static TrainBatch created(TrainBatch b, Instant at) {
        b.setCreatedTime(at);
        return b;
    }
}
