package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What {@code rehearsal report} reads from each snapshot: the tasks being learned, the freshness, and the evaluation
 * of the held-out samples, which a trainer resumed from a snapshot carries on instead of starting from nothing.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TrainerLearningRecordIT {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final Instant T0 = Instant.parse("2026-12-01T00:00:00Z");

    @Test
    void shouldCarryTasksFreshnessAndTheEvaluationAcrossARestart(KafkaCluster kafka) {
        // Given 10 TRAIN batches of task t0 (event times T0 + the batch number in seconds), then an EVAL round of 40
        // held-out samples, then 5 TRAIN batches of task t1
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("record", DIMS, CLASSES, 3);
        List<TrainBatch> first = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            first.add(batch(stream, "t0", i));
        }
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ys.add(i % CLASSES);
            xs.add(stream.sample(i % CLASSES));
        }
        first.add(stream.evalBatch(xs, ys, 0));
        produce(kafka, topics, first);
        TrainerSettings settings = TrainerSettings.builder("record", ModelSpec.mlp(DIMS, CLASSES, 32))
                .optSnapshotEvery(10, Duration.ofHours(1)).optPollTimeout(Duration.ofMillis(200))
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .build();

        // When a trainer trains them and publishes, stops, and a new trainer goes on with the t1 batches
        SnapshotMetrics before;
        try (TrainerApp app = new TrainerApp(settings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(app, () -> app.version() == 1 && app.trainer().evals().size() == 40);
            before = app.publish().getMetrics();
        }
        List<TrainBatch> second = new ArrayList<>();
        for (int i = 10; i < 15; i++) {
            second.add(batch(stream, "t1", i));
        }
        produce(kafka, topics, second);
        try (TrainerApp app = new TrainerApp(settings, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(app, () -> app.trainer().step() == 15);
            app.publish();
        }

        // Then the first snapshot says it learned 80 fresh t0 items, the newest stamped T0 + 9 s, and carries the round
        List<ModelSnapshot> snapshots = TestRecords.consume(kafka, topics.modelUpdates(), 3, Duration.ofSeconds(60)).stream()
                .map(ConsumerRecord::value).toList();
        SnapshotMetrics v1 = snapshots.get(0).getMetrics();
        assertThat(v1.getFreshByTask()).containsExactly(Map.entry("t0", 80L));
        assertThat(v1.getNewestEventTime()).isEqualTo(T0.plusSeconds(9));
        assertThat(before.getEvaluations()).hasSize(40);
        assertThat(before.getEvalStep()).isEqualTo(10L);
        // and the resumed trainer's snapshot says it learned t1, with the held-out results of the round before the restart
        SnapshotMetrics resumed = snapshots.get(2).getMetrics();
        assertThat(resumed.getFreshByTask()).containsExactly(Map.entry("t1", 40L));
        assertThat(resumed.getEvaluations()).isEqualTo(before.getEvaluations());
        assertThat(resumed.getEvalAccuracyByTask()).isEqualTo(before.getEvalAccuracyByTask()).isNotEmpty();
        assertThat(resumed.getEvalAccuracy()).isEqualTo(before.getEvalAccuracy());
        assertThat(resumed.getEvalStep()).isEqualTo(10L);
    }

    /** A TRAIN batch of 8 fresh items of {@code task}, stamped T0 + {@code second} seconds. */
    private static TrainBatch batch(SyntheticStream stream, String task, int second) {
        List<TrainItem> items = new ArrayList<>();
        for (int g = 0; g < 8; g++) {
            int label = stream.randomLabel();
            TrainItem item = SyntheticStream.item(task + "-" + second + "-" + g, label, stream.sample(label), 2, g, ItemRole.FRESH, task);
            item.setEventTime(T0.plusSeconds(second));
            items.add(item);
        }
        return stream.batch(BatchKind.TRAIN, 2, items, null);
    }

    private static void produce(KafkaCluster kafka, Topics topics, List<TrainBatch> batches) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (TrainBatch b : batches) {
            records.add(new ProducerRecord<>(topics.trainBatches().name(), topics.trainBatches().serializeKey(b.getModelId()),
                    topics.trainBatches().serializeValue(b)));
        }
        TestRecords.produceRaw(kafka, records);
    }

    private static void pollUntil(TrainerApp app, BooleanSupplier done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("deadline").isLessThan(deadline);
            app.pollOnce();
        }
    }
}
