package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.snapshot.TrainerFencedException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The trainer against a real broker: transactional snapshots, crash recovery, fencing. */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TrainerAppIT {
    static final int DIMS = 20;
    static final int CLASSES = 4;
    static final Duration WAIT = Duration.ofSeconds(60);
    private static final String SIGNING_KEY = "trainer-app-it-signing-key-0123456789";

    static TrainerSettings.Builder settings(String modelId) {
        return TrainerSettings.builder(modelId, ModelSpec.mlp(DIMS, CLASSES, 32))
                .optLambda(1f, 5, 5)
                .optSnapshotEvery(5, Duration.ofHours(1))
                .optChunking(1024, 1024) // ~3.5 KB of weights: force chunking
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-")
                .optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(200));
    }

    static void produce(KafkaCluster kafka, Topics topics, List<TrainBatch> batches) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (TrainBatch b : batches) {
            records.add(new ProducerRecord<>(topics.trainBatches().name(), topics.trainBatches().serializeKey(b.getModelId()),
                    topics.trainBatches().serializeValue(b)));
        }
        TestRecords.produceRaw(kafka, records);
    }

    /** Polls the trainer until {@code done} holds or the deadline passes. */
    static void pollUntil(TrainerApp app, BooleanSupplier done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("deadline").isLessThan(deadline);
            app.pollOnce();
        }
    }

    static List<ModelSnapshot> committedSnapshots(KafkaCluster kafka, Topics topics, int atLeast) {
        return TestRecords.consume(kafka, topics.modelUpdates(), atLeast, WAIT).stream()
                .map(ConsumerRecord::value).toList();
    }

    @Test
    void shouldTrainAndPublishSnapshotsWithTheirOffsetsInOneTransaction(KafkaCluster kafka) throws Exception {
        // Given 60 TRAIN batches of model "blobs", one EVAL batch, a batch of another model and a garbage record
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("blobs", DIMS, CLASSES, 1);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            batches.add(stream.trainBatch(16, 2));
        }
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            ys.add(i % CLASSES);
            xs.add(stream.sample(i % CLASSES));
        }
        batches.add(stream.evalBatch(xs, ys, 1));
        batches.add(new SyntheticStream("other", DIMS, CLASSES, 2).trainBatch(4, 1));
        produce(kafka, topics, batches);
        TestRecords.produceRaw(kafka, List.of(new ProducerRecord<>(topics.trainBatches().name(),
                "blobs".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3})));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TrainerSettings s = settings("blobs").optSnapshotEvery(25, Duration.ofHours(1)).build();
        // When the trainer consumes everything and publishes a last snapshot
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            pollUntil(app, () -> app.trainer().step() == 60 && app.trainer().evals().size() == 200
                    && registry.find("rehearsal.trainer.batches.rejected").counters().stream().mapToDouble(c -> c.count()).sum() == 1);
            app.publish();

            // Then three versions are committed: at steps 25, 50 and 60, each the child of the previous
            List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 3);
            assertThat(snapshots).extracting(ModelSnapshot::getVersion).containsExactly(1L, 2L, 3L);
            assertThat(snapshots).extracting(ModelSnapshot::getStep).containsExactly(25L, 50L, 60L);
            assertThat(snapshots).extracting(ModelSnapshot::getParentVersion).containsExactly(null, 1L, 2L);
            ModelSnapshot last = snapshots.get(2);
            // covering every record of the batch topic (63), with the group's committed offset moved with it
            assertThat(last.getProvenance().getBatchOffsets()).singleElement()
                    .satisfies(o -> assertThat(o.getOffset()).isEqualTo(63L));
            try (Admin admin = Admin.create(kafka.clientProperties())) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(s.groupId())
                        .partitionsToOffsetAndMetadata().get();
                assertThat(committed.get(new TopicPartition(topics.trainBatches().name(), 0)).offset()).isEqualTo(63L);
            }
            // with its metrics and provenance
            assertThat(last.getMetrics().getEvalAccuracy()).isGreaterThan(0.95);
            assertThat(last.getMetrics().getEvalAccuracyByClass()).hasSize(CLASSES);
            assertThat(last.getMetrics().getSamplesSeen()).isEqualTo(60 * 32);
            assertThat(last.getProvenance().getSampleOffsets()).singleElement()
                    .satisfies(o -> assertThat(o.getTopic()).isEqualTo(topics.samples().name()));
            assertThat(last.getProvenance().getDjlVersion()).isEqualTo("0.36.0");
            assertThat(last.getProvenance().getEngineVersion()).isEqualTo("2.7.1");
            assertThat(last.getProvenance().getGitSha()).isNotBlank();
            assertThat(last.getProvenance().getSettings()).containsEntry("seed", "42");
            // and its chunked parameters reassemble, verified, into the trainer's exact model
            assertThat(last.getParameters().getChunks()).hasSizeGreaterThan(1);
            try (SnapshotReader reader = SnapshotReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT);
                 ContinualTrainer copy = new ContinualTrainer(settings("blobs").optSeed(5).build())) {
                copy.loadParameters(SnapshotCodec.parameters(last, reader, Optional.empty()));
                float[][] expected = app.trainer().probabilities(xs);
                float[][] actual = copy.probabilities(xs);
                for (int i = 0; i < xs.size(); i++) {
                    assertThat(actual[i]).containsExactly(expected[i]);
                }
            }
            // and the garbage record went to the dead letters in the same transaction
            List<ConsumerRecord<byte[], DeadLetter>> dead = TestRecords.consume(kafka, topics.deadLetters(), 1, WAIT);
            assertThat(dead).singleElement().satisfies(r -> {
                assertThat(r.value().getComponent()).isEqualTo("trainer");
                assertThat(r.value().getSourceOffset()).isEqualTo(62L);
                assertThat(r.value().getReason()).isEqualTo("BAD_MARKER");
            });
            assertThat(registry.get("rehearsal.trainer.steps").tag("model", "blobs").counter().count()).isEqualTo(60);
            assertThat(registry.get("rehearsal.trainer.snapshot.version").gauge().value()).isEqualTo(3);
        }
    }

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        private volatile long millis = 1_700_000_000_000L;

        void advance(Duration d) {
            millis += d.toMillis();
        }

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public java.time.Instant instant() {
            return java.time.Instant.ofEpochMilli(millis);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    @Test
    void shouldSnapshotAfterTheIntervalEvenBeforeTheStepCountAndNotWhenIdle(KafkaCluster kafka) {
        // Given a trainer that snapshots every 1000 steps or 30 s, and 3 batches
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("timed", DIMS, CLASSES, 5);
        produce(kafka, topics, List.of(stream.trainBatch(4, 1), stream.trainBatch(4, 1), stream.trainBatch(4, 1)));
        ManualClock clock = new ManualClock();
        TrainerSettings s = settings("timed").optSnapshotEvery(1000, Duration.ofSeconds(30)).build();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry(),
                PublishHook.NONE, clock)) {
            pollUntil(app, () -> app.trainer().step() == 3);
            assertThat(app.version()).isZero();
            // When 30 s pass, Then the next poll publishes
            clock.advance(Duration.ofSeconds(30));
            app.pollOnce();
            assertThat(app.version()).isEqualTo(1);
            // and when 30 s more pass with no new batch, nothing is published
            clock.advance(Duration.ofSeconds(31));
            app.pollOnce();
            assertThat(app.version()).isEqualTo(1);
        }
        assertThat(committedSnapshots(kafka, topics, 1)).singleElement()
                .satisfies(snapshot -> assertThat(snapshot.getStep()).isEqualTo(3));
    }

    /** Thrown by the hook: the trainer "dies" between training and committing. */
    static final class SimulatedCrash extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SimulatedCrash() {
            super("simulated crash before commit");
        }
    }

    @Test
    void shouldLoseNoBatchAndNeverRepeatAVersionWhenKilledBeforeCommit(KafkaCluster kafka) {
        // Given 20 batches and a trainer (SGD, momentum 0.9) that snapshots every 5 steps and dies just before
        // committing the third
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("crash", DIMS, CLASSES, 3);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches);
        TrainerSettings s = settings("crash").build();
        int[] commitsSeen = {0};
        PublishHook dieBeforeThirdCommit = stage -> {
            if (stage == PublishHook.Stage.OFFSETS_SENT && ++commitsSeen[0] == 3) {
                throw new SimulatedCrash();
            }
        };
        TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry(),
                dieBeforeThirdCommit, Clock.systemUTC());
        try {
            assertThatThrownBy(() -> pollUntil(first, () -> false)).isInstanceOf(SimulatedCrash.class);
            assertThat(first.trainer().step()).isEqualTo(15);
            // The third snapshot was written but not committed: visible uncommitted, invisible committed
            assertThat(versionsInLog(kafka, topics, "read_uncommitted", 3)).containsExactly(1L, 2L, 3L);
            assertThat(committedSnapshots(kafka, topics, 2)).extracting(ModelSnapshot::getVersion).containsExactly(1L, 2L);

            // When a new trainer starts while the dead one's transaction is still open (as after kill -9)
            try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(),
                    new SimpleMeterRegistry())) {
                second.start();
                // Then it resumes from version 2 (step 10) and the offsets committed with it
                assertThat(second.version()).isEqualTo(2);
                assertThat(second.trainer().step()).isEqualTo(10);
                pollUntil(second, () -> second.version() == 4); // steps 15 and 20
                // with the weights and momentum of a trainer that never stopped, bit for bit
                try (ContinualTrainer uninterrupted = new ContinualTrainer(s)) {
                    batches.forEach(uninterrupted::train);
                    assertBitIdentical(second.trainer().parameters(), uninterrupted.parameters());
                    assertBitIdentical(second.trainer().optimizerState(), uninterrupted.optimizerState());
                }
            }
        } finally {
            first.close();
        }
        // And the committed history has every version once, in order, and every batch trained exactly once in it
        List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 4);
        assertThat(snapshots).extracting(ModelSnapshot::getVersion).containsExactly(1L, 2L, 3L, 4L);
        assertThat(snapshots).extracting(ModelSnapshot::getStep).containsExactly(5L, 10L, 15L, 20L);
        assertThat(snapshots).extracting(ModelSnapshot::getParentVersion).containsExactly(null, 1L, 2L, 3L);
        assertThat(snapshots.get(3).getProvenance().getBatchOffsets()).singleElement()
                .satisfies(o -> assertThat(o.getOffset()).isEqualTo(20L));
        assertThat(snapshots.get(3).getMetrics().getSamplesSeen()).isEqualTo(20 * 16);
        // and the chunks of versions 1 and 2, weights and optimizer state, are tombstoned (by versions 3 and 4),
        // though the trainer that published them died: only the newest two versions' chunks stay
        java.util.Set<String> tombstoned = tombstonedChunkKeys(kafka, topics);
        for (ModelSnapshot old : snapshots.subList(0, 2)) {
            assertThat(old.getOptimizerState().getChunks()).hasSizeGreaterThan(1);
            assertThat(tombstoned).containsAll(SnapshotCodec.chunkKeys(old)).contains(
                    "crash/" + old.getVersion() + "/0", "crash/" + old.getVersion() + "/optimizer-0");
        }
        assertThat(tombstoned).noneMatch(k -> k.startsWith("crash/3/") || k.startsWith("crash/4/"));
        // and the last snapshot carries exactly the weights and optimizer state the trainer ended with
        try (SnapshotReader reader = SnapshotReader.create(topics, kafka.bootstrapServers(), Map.of(), WAIT);
             ContinualTrainer uninterrupted = new ContinualTrainer(s)) {
            batches.forEach(uninterrupted::train);
            assertBitIdentical(SnapshotCodec.parameters(snapshots.get(3), reader, Optional.empty()), uninterrupted.parameters());
            assertBitIdentical(SnapshotCodec.optimizerState(snapshots.get(3), reader, Optional.empty()).orElseThrow(),
                    uninterrupted.optimizerState());
        }
    }


    /** Every chunk key with a committed tombstone. */
    private static java.util.Set<String> tombstonedChunkKeys(KafkaCluster kafka, Topics topics) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topics.modelChunks().name(), 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() == null) {
                        out.add(topics.modelChunks().deserializeKey(r.key()));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void shouldResumeFromTheNewestSnapshotThatVerifiesAndNumberAfterAForgedOne(KafkaCluster kafka) {
        // Given a signing trainer that published versions 1 and 2 (10 steps)
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("forged", DIMS, CLASSES, 5);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches.subList(0, 10));
        TrainerSettings s = settings("forged").optSigningKey(SIGNING_KEY).build();
        try (TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(first, () -> first.version() == 2);
        }
        // and then a forged version 3 on the topic: version 2 altered, so its signature no longer matches
        ModelSnapshot genuine = committedSnapshots(kafka, topics, 2).get(1);
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of("forged",
                ModelSnapshot.newBuilder(genuine).setVersion(3).setParentVersion(2L).setStep(999).build()));
        produce(kafka, topics, batches.subList(10, 15));

        // When a trainer of the model starts
        try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            second.start();
            // Then it resumes from version 2, the newest that verifies, at its step
            assertThat(second.version()).isEqualTo(2);
            assertThat(second.trainer().step()).isEqualTo(10);
            pollUntil(second, () -> second.version() > 2);
        }
        // and its next version numbers after the forged one (subscribers refused that one too), trained from version 2
        List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, 4);
        assertThat(snapshots).extracting(ModelSnapshot::getVersion).containsExactly(1L, 2L, 3L, 4L);
        assertThat(snapshots.get(3).getParentVersion()).isEqualTo(2L);
        assertThat(snapshots.get(3).getStep()).isEqualTo(15L);
    }

    @Test
    void shouldRefuseToStartOverFromRandomWeightsWhenNoSnapshotVerifies(KafkaCluster kafka) {
        // Given versions 1 and 2 signed with one key
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("rotated", DIMS, CLASSES, 6);
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            batches.add(stream.trainBatch(8, 2));
        }
        produce(kafka, topics, batches);
        try (TrainerApp first = new TrainerApp(settings("rotated").optSigningKey(SIGNING_KEY).build(), topics,
                kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            pollUntil(first, () -> first.version() == 2);
        }
        // When a trainer starts with another key (a rotation that forgot the old snapshots)
        try (TrainerApp rotated = new TrainerApp(settings("rotated").optSigningKey("another-signing-key-0123456789").build(),
                topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
            // Then it refuses to start, saying why, instead of publishing an untrained model as the newest
            assertThatThrownBy(rotated::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("none of the 2 snapshots of model rotated").hasMessageContaining("BAD_SIGNATURE")
                    .hasMessageContaining("signing key");
        }
        assertThat(committedSnapshots(kafka, topics, 2)).hasSize(2);
    }

    private static List<Long> versionsInLog(KafkaCluster kafka, Topics topics, String isolation, int count) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        List<Long> versions = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topics.modelUpdates().name(), 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (versions.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    versions.add(topics.modelUpdates().deserializeValue(r.value()).getVersion());
                }
            }
        }
        return versions;
    }

    @Test
    void shouldFenceTheFirstTrainerWhenASecondStartsForTheSameModel(KafkaCluster kafka) throws Exception {
        // Given a trainer running on model "fenced"
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("fenced", DIMS, CLASSES, 4);
        List<TrainBatch> early = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            early.add(stream.trainBatch(8, 1));
        }
        produce(kafka, topics, early);
        TrainerSettings s = settings("fenced").optSnapshotEvery(2, Duration.ofHours(1)).build();
        TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
        CompletableFuture<Void> running = CompletableFuture.runAsync(first::run);
        try {
            assertThat(committedSnapshots(kafka, topics, 5)).hasSize(5);
            // When a second trainer of the same model starts, and more batches arrive
            try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(),
                    new SimpleMeterRegistry())) {
                second.start();
                long resumedAt = second.version();
                List<TrainBatch> late = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    late.add(stream.trainBatch(8, 1));
                }
                produce(kafka, topics, late);
                // Then the first one stops with a clear error instead of publishing
                assertThatThrownBy(() -> running.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(TrainerFencedException.class)
                        .hasMessageContaining("the trainer of model fenced was fenced: another trainer started with "
                                + "transactional.id " + s.transactionalId());
                // and the second one carries on from where the committed history ended
                pollUntil(second, () -> second.version() == resumedAt + 5); // a snapshot every 2 steps
                List<ModelSnapshot> snapshots = committedSnapshots(kafka, topics, (int) resumedAt + 5);
                List<Long> versions = snapshots.stream().map(ModelSnapshot::getVersion).toList();
                assertThat(versions).doesNotHaveDuplicates().isSorted();
                assertThat(versions.get(versions.size() - 1)).isEqualTo(resumedAt + 5);
                assertThat(snapshots.get(snapshots.size() - 1).getStep()).isEqualTo(20);
            }
        } finally {
            first.stop();
            first.close();
        }
    }
}
