package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static io.rehearsal.models.train.TrainerAppIT.CLASSES;
import static io.rehearsal.models.train.TrainerAppIT.DIMS;
import static io.rehearsal.models.train.TrainerAppIT.WAIT;
import static io.rehearsal.models.train.TrainerAppIT.committedSnapshots;
import static io.rehearsal.models.train.TrainerAppIT.pollUntil;
import static io.rehearsal.models.train.TrainerAppIT.produce;
import static io.rehearsal.models.train.TrainerAppIT.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.TrainBatch;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The trainer against a real broker when a step is not finite: the batch is skipped and dead-lettered in the
 * snapshot's transaction, the snapshot covers it, training goes on, and a restarted trainer does not fail on it;
 * weights that are not finite are never published.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TrainerNonFiniteIT {

    private static double skipped(SimpleMeterRegistry registry, String reason) {
        return registry.get("rehearsal.trainer.steps.skipped").tag("reason", reason).counter().count();
    }

    @Test
    void shouldSkipAndDeadLetterABatchWithANonFiniteLossAndKeepTrainingAlsoAfterARestart(KafkaCluster kafka) {
        // Given 21 batches, the one at offset 7 built to make a non-finite loss (finite features of 3e38, which
        // overflow in the first layer), and a trainer snapshotting every 5 steps that dies just before committing
        // its second snapshot, the one whose transaction carries the dead letter
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("poison", DIMS, CLASSES, 11);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 21; i++) {
            batches.add(i == 7 ? NonFiniteStepTest.poisoned(stream, 8, 2) : stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches);
        TrainerSettings s = settings("poison").build();
        int[] commits = {0};
        PublishHook dieBeforeSecondCommit = stage -> {
            if (stage == PublishHook.Stage.OFFSETS_SENT && ++commits[0] == 2) {
                throw new TrainerAppIT.SimulatedCrash();
            }
        };
        SimpleMeterRegistry firstRegistry = new SimpleMeterRegistry();
        try (TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), firstRegistry,
                dieBeforeSecondCommit, Clock.systemUTC())) {
            // When it trains through the poisoned batch
            assertThatThrownBy(() -> pollUntil(first, () -> false)).isInstanceOf(TrainerAppIT.SimulatedCrash.class);
            // Then it skipped it and went on: ten steps from eleven batches
            assertThat(first.trainer().step()).isEqualTo(10);
            assertThat(skipped(firstRegistry, "NON_FINITE_LOSS")).isEqualTo(1);
        }
        // When a new trainer resumes from version 1 (5 steps, offset 5) and meets the same batch again
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            second.start();
            assertThat(second.version()).isEqualTo(1);
            pollUntil(second, () -> second.trainer().step() == 20); // publishing version 4 at step 20
            // Then it skips it again, deterministically, and trains on: 20 steps from 21 batches
            assertThat(skipped(registry, "NON_FINITE_LOSS")).isEqualTo(1);
            assertThat(registry.get("rehearsal.trainer.batches.rejected").tag("reason", "NON_FINITE_LOSS").counter().count())
                    .isEqualTo(1);
            assertThat(registry.get("rehearsal.trainer.steps").counter().count()).isEqualTo(15);
        }

        // And the poisoned batch is dead-lettered exactly once (the first trainer's letter died with its
        // transaction), with the reason and the step's statistics
        List<ConsumerRecord<byte[], DeadLetter>> dead = TestRecords.consume(kafka, topics.deadLetters(), 2, Duration.ofSeconds(5));
        assertThat(dead).singleElement().satisfies(r -> {
            assertThat(r.value().getComponent()).isEqualTo("trainer");
            assertThat(r.value().getReason()).isEqualTo("NON_FINITE_LOSS");
            assertThat(r.value().getSourceOffset()).isEqualTo(7L);
            assertThat(r.value().getMessage()).contains("step 8 of model poison not applied: the loss is not finite")
                    .contains("max |input| 3.000e+38").contains("weights finite").contains("dead-lettered");
        });
        // and the committed snapshots cover it: a trainer started now does not meet it again
        List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 4);
        assertThat(snapshots).extracting(ModelSnapshot::getVersion).containsExactly(1L, 2L, 3L, 4L);
        assertThat(snapshots).extracting(ModelSnapshot::getStep).containsExactly(5L, 10L, 15L, 20L);
        assertThat(snapshots.get(1).getProvenance().getBatchOffsets()).singleElement()
                .satisfies(o -> assertThat(o.getOffset()).isEqualTo(11L));
        assertThat(snapshots.get(3).getProvenance().getBatchOffsets()).singleElement()
                .satisfies(o -> assertThat(o.getOffset()).isEqualTo(21L));
        SimpleMeterRegistry thirdRegistry = new SimpleMeterRegistry();
        try (TrainerApp third = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), thirdRegistry)) {
            third.start();
            assertThat(third.trainer().step()).isEqualTo(20);
            third.pollOnce();
            assertThat(skipped(thirdRegistry, "NON_FINITE_LOSS")).isZero();
        }
        // and the weights are bit for bit those of a trainer that never saw the poisoned batch
        try (SnapshotReader reader = SnapshotReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT);
             ContinualTrainer clean = new ContinualTrainer(s)) {
            for (int i = 0; i < batches.size(); i++) {
                if (i != 7) {
                    clean.train(batches.get(i));
                }
            }
            assertBitIdentical(SnapshotCodec.parameters(snapshots.get(3), reader, Optional.empty()), clean.parameters());
        }
    }

    @Test
    void shouldNeverPublishWeightsThatAreNotFiniteButRollBackToTheLastSnapshot(KafkaCluster kafka) {
        // Given a trainer that published version 1 at step 5 and then trained 3 more steps
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("nan", DIMS, CLASSES, 12);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches.subList(0, 8));
        TrainerSettings s = settings("nan").build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            pollUntil(app, () -> app.trainer().step() == 8);
            assertThat(app.version()).isEqualTo(1);
            // When its weights turn NaN (as an update overflowing on finite gradients would leave them) and a
            // snapshot is due
            List<NamedTensor> nan = new ArrayList<>();
            for (NamedTensor t : app.trainer().parameters()) {
                float[] data = t.data().clone();
                Arrays.fill(data, Float.NaN);
                nan.add(new NamedTensor(t.name(), t.shape(), data));
            }
            app.trainer().loadParameters(nan);
            app.publish();

            // Then version 2 carries version 1's weights, not the NaN ones, and the trainer is back at step 5
            List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 2);
            try (SnapshotReader reader = SnapshotReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT)) {
                List<NamedTensor> v1 = SnapshotCodec.parameters(snapshots.get(0), reader, Optional.empty());
                assertBitIdentical(SnapshotCodec.parameters(snapshots.get(1), reader, Optional.empty()), v1);
                assertBitIdentical(app.trainer().parameters(), v1);
                assertBitIdentical(app.trainer().optimizerState(),
                        SnapshotCodec.optimizerState(snapshots.get(0), reader, Optional.empty()).orElseThrow());
            }
            assertThat(snapshots.get(1).getStep()).isEqualTo(5);
            assertThat(snapshots.get(1).getProvenance().getBatchOffsets()).singleElement()
                    .satisfies(o -> assertThat(o.getOffset()).isEqualTo(8L));
            assertThat(app.trainer().step()).isEqualTo(5);
            assertThat(skipped(registry, "NON_FINITE_WEIGHTS")).isEqualTo(3);
            // and the three batches it undid are dead-lettered as one range, in the same transaction
            List<ConsumerRecord<byte[], DeadLetter>> dead = TestRecords.consume(kafka, topics.deadLetters(), 1, WAIT);
            assertThat(dead).singleElement().satisfies(r -> {
                assertThat(r.value().getReason()).isEqualTo("NON_FINITE_WEIGHTS");
                assertThat(r.value().getSourceOffset()).isEqualTo(5L);
                assertThat(r.value().getMessage()).contains("rolled back to the weights and optimizer state of version 1 "
                        + "(step 5), and the 3 steps of the batches at offsets [5, 8)");
            });
            // and training goes on from there
            produce(kafka, topics, batches.subList(8, 12));
            pollUntil(app, () -> app.trainer().step() == 9);
        }
    }

    @Test
    void shouldRollBackToTheLastSnapshotWhenEveryStepOnFiniteWeightsIsNotFinite(KafkaCluster kafka) {
        // Given a trainer that published version 1 at step 5 and then trained 2 more steps
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("diverged", DIMS, CLASSES, 14);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 17; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches.subList(0, 7));
        TrainerSettings s = settings("diverged").build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            pollUntil(app, () -> app.trainer().step() == 7);
            assertThat(app.version()).isEqualTo(1);
            // When its weights diverge but stay finite (the output layer's at 3e38: every logit overflows, so every
            // loss is NaN, whatever the batch), and ordinary batches keep coming
            List<NamedTensor> diverged = new ArrayList<>();
            List<NamedTensor> current = app.trainer().parameters();
            String output = current.stream().map(NamedTensor::name).filter(n -> n.endsWith("_weight"))
                    .reduce((a, b) -> b).orElseThrow();
            for (NamedTensor t : current) {
                float[] data = t.data().clone();
                if (t.name().equals(output)) {
                    Arrays.fill(data, 3e38f);
                }
                diverged.add(new NamedTensor(t.name(), t.shape(), data));
            }
            app.trainer().loadParameters(diverged);
            produce(kafka, topics, batches.subList(7, 17));
            pollUntil(app, () -> skipped(registry, "DIVERGED") > 0);

            // Then the first 7 non-finite steps are only skipped, and the 8th rolls it back to version 1 (step 5),
            // undoing the 2 steps since
            assertThat(skipped(registry, "NON_FINITE_LOSS")).isEqualTo(TrainerApp.DIVERGED_AFTER_SKIPS);
            assertThat(skipped(registry, "DIVERGED")).isEqualTo(2);
            // and it trains on: the last two batches are steps 6 and 7 (often in the same poll as the roll-back),
            // bit for bit as for a trainer that only ever saw batches 0-4 and those two (same seeds per step)
            pollUntil(app, () -> app.trainer().step() == 7 && app.trainer().samplesSeen() == 7 * 16);
            try (ContinualTrainer clean = new ContinualTrainer(s)) {
                for (int i : new int[] {0, 1, 2, 3, 4, 15, 16}) {
                    clean.train(batches.get(i));
                }
                assertBitIdentical(app.trainer().parameters(), clean.parameters());
            }
            app.publish();
        }
        // and the skipped batches and the undone range are dead-lettered with the next snapshot
        List<ConsumerRecord<byte[], DeadLetter>> dead = TestRecords.consume(kafka, topics.deadLetters(), 9, WAIT);
        assertThat(dead).extracting(r -> r.value().getReason()).containsOnly("NON_FINITE_LOSS", "DIVERGED");
        assertThat(dead).filteredOn(r -> r.value().getReason().equals("DIVERGED")).singleElement().satisfies(r -> {
            assertThat(r.value().getSourceOffset()).isEqualTo(5L);
            assertThat(r.value().getMessage()).contains("diverged at step 7: 8 steps in a row were not finite")
                    .contains("rolled back to the weights and optimizer state of version 1 (step 5), and the 2 steps of "
                            + "the batches at offsets [5, 14)");
        });
        assertThat(committedSnapshots(kafka, topics, 2).get(1).getStep()).isEqualTo(7);
    }

    @Test
    void shouldResumeFromTheNewestSnapshotWhoseWeightsAreFinite(KafkaCluster kafka) {
        // Given versions 1 and 2, and then a version 3 on the topic whose weights hold NaN (a trainer from before
        // this guard, say)
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("refused", DIMS, CLASSES, 13);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches.subList(0, 10));
        TrainerSettings s = settings("refused").build();
        try (TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(first, () -> first.version() == 2);
        }
        ModelSnapshot genuine = committedSnapshots(kafka, topics, 2).get(1);
        List<NamedTensor> nan = new ArrayList<>();
        try (SnapshotReader reader = SnapshotReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT)) {
            for (NamedTensor t : SnapshotCodec.parameters(genuine, reader, Optional.empty())) {
                float[] data = t.data().clone();
                data[0] = Float.NaN;
                nan.add(new NamedTensor(t.name(), t.shape(), data));
            }
        }
        ModelSnapshot broken = SnapshotCodec.snapshot("refused", 3, 2L, 12, java.time.Instant.now(), genuine.getSpec(),
                SnapshotCodec.encodeParameters(nan), List.of(), genuine.getMetrics(), genuine.getProvenance(), Optional.empty());
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of("refused", broken));
        produce(kafka, topics, batches.subList(10, 15));

        // When a trainer starts
        try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            second.start();
            // Then it refuses version 3 and resumes from version 2, numbering after 3
            assertThat(second.version()).isEqualTo(2);
            assertThat(second.trainer().step()).isEqualTo(10);
            pollUntil(second, () -> second.version() > 2);
        }
        List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 4);
        assertThat(snapshots.get(3).getVersion()).isEqualTo(4);
        assertThat(snapshots.get(3).getParentVersion()).isEqualTo(2L);
        assertThat(snapshots.get(3).getStep()).isEqualTo(15);
    }
}
