package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.features.FeatureCacheSettings;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on batches that name their samples: features read from the features topic, waited for when a
 * batch comes first, kept while a tombstone races the batches that still name them, rebuilt after a restart.
 * Each test trains the same batches with their features inline, in process, and expects the same weights, bit
 * for bit: the trainer trained on the features of each item's own sample.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TrainerFeaturesIT {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private TrainerSettings.Builder settings(String modelId, long memoryBytes, Duration maxWait) {
        return TrainerSettings.builder(modelId, ModelSpec.mlp(DIMS, CLASSES, 32))
                .optLambda(1f, 5, 5)
                .optSnapshotEvery(5, Duration.ofHours(1))
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-")
                .optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .optFeatureCache(new FeatureCacheSettings(memoryBytes, Optional.of(dir.resolve(modelId)), maxWait));
    }

    /** Batches whose later ones recall samples of earlier ones, features inline. */
    private static List<TrainBatch> batchesWithRecalls(String model, int n) {
        SyntheticStream stream = new SyntheticStream(model, DIMS, CLASSES, 7);
        List<TrainBatch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TrainBatch fresh = stream.trainBatch(4, 2);
            List<TrainItem> items = new ArrayList<>(fresh.getItems());
            if (i >= 2) {
                for (TrainItem old : out.get(i - 2).getItems().subList(0, 4)) {
                    items.add(TrainItem.newBuilder(old).setRole(ItemRole.RECALL).setGroupId(items.size()).build());
                }
            }
            out.add(TrainBatch.newBuilder(fresh).setItems(items).build());
        }
        return out;
    }

    /** What the curator writes for {@code inline}: each sample's features once, and batches that name them. */
    private static final class ByReference {
        final Map<String, SampleFeatures> features = new LinkedHashMap<>();
        final Map<String, Long> lastNamedBy = new HashMap<>();
        final List<TrainBatch> batches = new ArrayList<>();

        ByReference(List<TrainBatch> inline) {
            for (TrainBatch b : inline) {
                List<TrainItem> items = new ArrayList<>();
                for (TrainItem item : b.getItems()) {
                    SampleFeatures f = features.computeIfAbsent(item.getSampleId(), id -> new SampleFeatures(id,
                            b.getModelId(), 0, (long) features.size(), item.getFeatures()));
                    lastNamedBy.put(item.getSampleId(), b.getSequence());
                    items.add(TrainItem.newBuilder(item).setFeatures(null).setSourceOffset(f.getSourceOffset()).build());
                }
                batches.add(TrainBatch.newBuilder(b).setItems(items).build());
            }
        }

        List<ProducerRecord<byte[], byte[]>> featureRecords(Topics topics) {
            return features.values().stream().map(f -> new ProducerRecord<>(topics.features().name(),
                    topics.features().serializeKey(f.getSampleId()), topics.features().serializeValue(f))).toList();
        }

        /** A tombstone for every sample, released after the last batch that names it. */
        List<ProducerRecord<byte[], byte[]>> tombstones(Topics topics) {
            List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
            lastNamedBy.forEach((id, seq) -> {
                RecordHeaders h = new RecordHeaders();
                h.add(Topics.RELEASED_BY_SHARD_HEADER, "0".getBytes(StandardCharsets.UTF_8));
                h.add(Topics.RELEASED_AFTER_HEADER, Long.toString(seq).getBytes(StandardCharsets.UTF_8));
                out.add(new ProducerRecord<>(topics.features().name(), null, topics.features().serializeKey(id), null, h));
            });
            return out;
        }

        List<ProducerRecord<byte[], byte[]>> batchRecords(Topics topics) {
            return batches.stream().map(b -> new ProducerRecord<>(topics.trainBatches().name(),
                    topics.trainBatches().serializeKey(b.getModelId()), topics.trainBatches().serializeValue(b))).toList();
        }
    }

    private static void pollUntil(TrainerApp app, BooleanSupplier done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("deadline").isLessThan(deadline);
            app.pollOnce();
        }
    }

    private static double meter(SimpleMeterRegistry registry, String name, String... tags) {
        return registry.get(name).tags(tags).meters().stream()
                .mapToDouble(m -> m.measure().iterator().next().getValue()).sum();
    }

    private static void assertTrainedLike(TrainerApp app, TrainerSettings s, List<TrainBatch> inline) {
        try (ContinualTrainer reference = new ContinualTrainer(s)) {
            inline.forEach(reference::train);
            assertBitIdentical(app.trainer().parameters(), reference.parameters());
            assertBitIdentical(app.trainer().optimizerState(), reference.optimizerState());
        }
    }


    @Test
    void shouldWaitForFeaturesThatArriveAfterTheirBatchAndTrainOnThem(KafkaCluster kafka) throws Exception {
        // Given 12 batches on the batch topic and none of their features yet
        Topics topics = kafka.newTopics();
        List<TrainBatch> inline = batchesWithRecalls("late", 12);
        ByReference ref = new ByReference(inline);
        TestRecords.produceRaw(kafka, ref.batchRecords(topics));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TrainerSettings s = settings("late", 1 << 20, Duration.ofSeconds(30)).build();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            app.start();
            CompletableFuture<Void> training = CompletableFuture.runAsync(() -> pollUntil(app, () -> app.trainer().step() == 12));
            // When the features come 3 s later
            Thread.sleep(3_000);
            assertThat(app.trainer().step()).as("nothing trained without features").isZero();
            TestRecords.produceRaw(kafka, ref.featureRecords(topics));
            training.get(WAIT.toSeconds(), TimeUnit.SECONDS);

            // Then the first batch waited for them, and every batch trained on its own samples' features
            assertThat(registry.get("rehearsal.trainer.features.wait").timer().count()).isPositive();
            assertThat(meter(registry, "rehearsal.trainer.features.missing")).isZero();
            assertTrainedLike(app, s, inline);
        }
    }

    @Test
    void shouldKeepFeaturesWhoseTombstonesOvertookTheirBatchesAndRebuildThemAfterARestart(KafkaCluster kafka) {
        // Given 20 batches (recalls two steps later), every sample's features, and every tombstone written
        // BEFORE the batches that still name the samples; a cache of 2 KB in memory (14 samples), so most features live on disk
        Topics topics = kafka.newTopics();
        List<TrainBatch> inline = batchesWithRecalls("race", 20);
        ByReference ref = new ByReference(inline);
        TestRecords.produceRaw(kafka, ref.featureRecords(topics));
        TestRecords.produceRaw(kafka, ref.tombstones(topics));
        TestRecords.produceRaw(kafka, ref.batchRecords(topics));
        TrainerSettings s = settings("race", 2_048, Duration.ofSeconds(5)).build();
        // and a trainer that snapshots every 5 steps and dies just before committing the third snapshot
        int[] commits = {0};
        PublishHook dieBeforeThirdCommit = stage -> {
            if (stage == PublishHook.Stage.OFFSETS_SENT && ++commits[0] == 3) {
                throw new IllegalStateException("simulated crash");
            }
        };
        SimpleMeterRegistry firstRegistry = new SimpleMeterRegistry();
        try (TrainerApp first = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), firstRegistry,
                dieBeforeThirdCommit, Clock.systemUTC())) {
            assertThatThrownBy(() -> pollUntil(first, () -> false)).hasMessage("simulated crash");
            assertThat(first.trainer().step()).isEqualTo(15);
            assertThat(meter(firstRegistry, "rehearsal.trainer.features.cached", "tier", "disk")).isPositive();
        }

        // When a new trainer starts: its cache is rebuilt from the topic, all of it released already
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp second = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            second.start();
            assertThat(second.trainer().step()).isEqualTo(10);
            assertThat(meter(registry, "rehearsal.trainer.features.released.pending")).isEqualTo(ref.features.size());
            assertThat(meter(registry, "rehearsal.trainer.features.cached", "tier", "disk")).isPositive();
            pollUntil(second, () -> second.trainer().step() == 20);

            // Then it trained every batch on its samples' features, as a trainer that never stopped
            assertThat(meter(registry, "rehearsal.trainer.features.missing")).isZero();
            assertTrainedLike(second, s, inline);
            // and once the last batch naming each sample is read, no features are held
            assertThat(meter(registry, "rehearsal.trainer.features.released.pending")).isZero();
            assertThat(meter(registry, "rehearsal.trainer.features.cached", "tier", "memory")).isZero();
            assertThat(meter(registry, "rehearsal.trainer.features.cached", "tier", "disk")).isZero();
        }
    }

    @Test
    void shouldKeepAStandbysFeaturesCurrentHoldingOnlyWhatTheActiveTrainerHasNotTrainedAndTakeOverWithoutReadingThemAgain(
            KafkaCluster kafka) throws Exception {
        // Given 10 batches of 20, every sample's features and every tombstone (released after the last batch naming it)
        Topics topics = kafka.newTopics();
        List<TrainBatch> inline = batchesWithRecalls("standby", 20);
        ByReference ref = new ByReference(inline);
        TestRecords.produceRaw(kafka, ref.featureRecords(topics));
        TestRecords.produceRaw(kafka, ref.tombstones(topics));
        List<ProducerRecord<byte[], byte[]>> batches = ref.batchRecords(topics);
        TestRecords.produceRaw(kafka, batches.subList(0, 10));
        int featureRecords = ref.features.size() * 2;
        // and an active trainer and a standby of the model (same group and transactional id, caches of their own)
        TrainerSettings.Builder builder = settings("standby", 1 << 20, Duration.ofSeconds(5));
        TrainerSettings s = builder.build();
        TrainerSettings standbySettings = builder.optFeatureCache(new FeatureCacheSettings(1 << 20,
                Optional.of(dir.resolve("standby-cache")), Duration.ofSeconds(5))).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerApp standby = new TrainerApp(standbySettings, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            standby.followFeatures(Duration.ofMillis(100)); // waiting before anything is trained: it holds every sample
            assertThat(meter(registry, "rehearsal.trainer.features.cached")).isEqualTo(ref.features.size());
            try (TrainerApp active = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry())) {
                // When the active trainer has trained and committed 10 batches (snapshots every 5 steps)
                pollUntil(active, () -> active.trainer().step() == 10);
                // and the standby follows the features topic while it waits
                long held = ref.lastNamedBy.values().stream().filter(seq -> seq >= inline.get(10).getSequence()).count();
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (meter(registry, "rehearsal.trainer.features.cached") != held) {
                    assertThat(System.nanoTime()).as("the standby's cache holds the %d samples still to train", held)
                            .isLessThan(deadline);
                    standby.followFeatures(Duration.ofMillis(100));
                }
                // Then it read the topic once, and holds the features of exactly the samples batches 11..20 name
                assertThat(meter(registry, "rehearsal.trainer.features.read")).isEqualTo(featureRecords);
                assertThat(held).isPositive().isLessThan(ref.features.size());
                assertThat(standby.trainer().step()).as("a standby trains nothing").isZero();
            }

            // When the active trainer is gone, the curator writes 10 more batches, and the standby takes over
            TestRecords.produceRaw(kafka, batches.subList(10, 20));
            pollUntil(standby, () -> standby.trainer().step() == 20);

            // Then it resumed after the committed snapshot without reading the features topic again, missed no features,
            // and trained as a trainer that never stopped
            assertThat(meter(registry, "rehearsal.trainer.features.read")).isEqualTo(featureRecords);
            assertThat(meter(registry, "rehearsal.trainer.features.missing")).isZero();
            assertTrainedLike(standby, s, inline);
        }
    }

    @Test
    void shouldLeaveOutItemsWhoseFeaturesAreGoneWithADeadLetterAndTrainTheRest(KafkaCluster kafka) {
        // Given 3 batches and the features of every sample but one of the second batch
        Topics topics = kafka.newTopics();
        List<TrainBatch> inline = batchesWithRecalls("gone", 3);
        ByReference ref = new ByReference(inline);
        String lost = inline.get(1).getItems().get(2).getSampleId();
        TestRecords.produceRaw(kafka, ref.featureRecords(topics).stream()
                .filter(r -> !topics.features().deserializeKey(r.key()).equals(lost)).toList());
        TestRecords.produceRaw(kafka, ref.batchRecords(topics));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TrainerSettings s = settings("gone", 1 << 20, Duration.ofSeconds(1)).build();
        try (TrainerApp app = new TrainerApp(s, topics, kafka.bootstrapServers(), Map.of(), registry)) {
            pollUntil(app, () -> app.trainer().step() == 3);
            app.publish();

            // Then the item is left out, counted, and reported on the dead-letter topic with the batch
            assertThat(meter(registry, "rehearsal.trainer.features.missing")).isEqualTo(1);
            List<DeadLetter> letters = TestRecords.consume(kafka, topics.deadLetters(), 1, WAIT).stream()
                    .map(ConsumerRecord::value).toList();
            assertThat(letters).singleElement().satisfies(l -> {
                assertThat(l.getReason()).isEqualTo("FEATURES_MISSING");
                assertThat(l.getComponent()).isEqualTo("trainer");
                assertThat(l.getMessage()).contains(lost).contains(topics.features().name());
            });
            // and the rest of the batch trained as it would have without that item
            List<TrainBatch> expected = new ArrayList<>(inline);
            List<TrainItem> kept = new ArrayList<>(inline.get(1).getItems());
            kept.remove(2);
            for (int i = 0; i < kept.size(); i++) {
                kept.set(i, TrainItem.newBuilder(kept.get(i)).setGroupId(i).build());
            }
            expected.set(1, TrainBatch.newBuilder(inline.get(1)).setItems(kept).build());
            assertTrainedLike(app, s, expected);
        }
    }
}
