package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real-size images through the curator and the trainer with the curator's default batch shape: 120
 * photos of 3 x 224 x 224 uint8 (150,528 bytes each). Had batch items carried features, a full batch of
 * G = 64 view groups would have been 9.6 MB, over the batch topic's 8 MiB limit; items name their samples,
 * so batches are full and a few KB, each photo's features are written once to the features topic, and the
 * trainer (a small CNN) reads them from its feature cache and trains every photo once as fresh.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class LargeInputsIT {
    private static final String MODEL = "photos";
    private static final List<Integer> SHAPE = List.of(3, 224, 224);
    private static final int PIXELS = 3 * 224 * 224;
    private static final int PHOTOS = 120;

    @Test
    void shouldTrainEveryPhotoOfRealSizeWithEveryBatchUnderTheTopicLimit(KafkaCluster kafka, @TempDir Path state) throws Exception {
        Topics topics = kafka.newTopics();
        CuratorSettings curatorSettings = CuratorSettings.defaults().optModelIds(MODEL).optContract(new ModelContract(SHAPE, 4))
                .optFreshShare(0.25).optLongTermCapacity(200).optLinger(Duration.ofSeconds(1)).optEvalEverySteps(0).optSeed(1);
        // one 3x3 convolution of two channels and a pool: the data path is what is tested, not the network's capacity
        ModelSpec cnn = new ModelSpec(ModelSpec.CNN, SHAPE, 4, Map.of("channels", "2", "dense", "8", "groups", "1"));
        TrainerSettings trainerSettings = TrainerSettings.builder(MODEL, cnn).optSeed(1)
                .optSnapshotEvery(20, Duration.ofSeconds(2))
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(200)).build();
        Map<String, Object> curatorProps = new HashMap<>(kafka.clientProperties());
        curatorProps.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        SimpleMeterRegistry curatorMetrics = new SimpleMeterRegistry();
        SimpleMeterRegistry trainerMetrics = new SimpleMeterRegistry();
        try (CuratorApp curator = new CuratorApp(curatorSettings, topics, curatorProps, curatorMetrics);
             TrainerApp trainer = new TrainerApp(trainerSettings, topics, kafka.bootstrapServers(), Map.of(), trainerMetrics)) {
            curator.startAndAwaitRunning(Duration.ofSeconds(60));
            CompletableFuture<Void> training = CompletableFuture.runAsync(trainer::run);

            // Given 120 photos of 3 x 224 x 224 uint8
            Random random = new Random(1);
            Map<String, Sample> photos = new LinkedHashMap<>();
            for (int i = 0; i < PHOTOS; i++) {
                byte[] pixels = new byte[PIXELS];
                random.nextBytes(pixels);
                photos.put("p" + i, Sample.newBuilder().setId("p" + i).setModelId(MODEL)
                        .setFeatures(FeatureTensor.ofBytes(new int[] {3, 224, 224}, pixels)).setLabel(i % 4)
                        .setSplit(Split.TRAIN).setEventTime(Instant.now()).build());
            }
            TestRecords.produce(kafka, topics.samples(), photos);

            // When the curator and the trainer have gone through them
            // (every photo in a batch, and the trainer has stepped through every TRAIN batch)
            await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofSeconds(2))
                    .failFast("the trainer stopped", training::isDone)
                    .until(() -> {
                        long trainBatches = TestRecords.consumeToEnd(kafka, topics.trainBatches(), Duration.ofSeconds(60))
                                .stream().filter(r -> r.value().getKind() == BatchKind.TRAIN).count();
                        return freshTrained(kafka, topics).size() >= PHOTOS
                                && trainerMetrics.get("rehearsal.trainer.steps").counter().count() >= trainBatches;
                    });

            // Then batches name their photos and are a few KB, full batches have every view group,
            List<ConsumerRecord<String, TrainBatch>> batches = TestRecords.consumeToEnd(kafka, topics.trainBatches(),
                    Duration.ofSeconds(60));
            assertThat(batches).isNotEmpty().allSatisfy(r -> {
                assertThat(r.serializedValueSize()).isLessThan(16 << 10);
                assertThat(r.value().getItems()).allSatisfy(i -> assertThat(i.getFeatures()).isNull());
            });
            int most = batches.stream().mapToInt(r -> r.value().getItems().size()).max().orElse(0);
            assertThat(most).as("view groups in the largest batch").isGreaterThan(curatorSettings.groups() / 2);
            // each photo's features were written once, and the trainer found every one
            List<ConsumerRecord<String, SampleFeatures>> features = TestRecords.consumeToEnd(kafka, topics.features(),
                    Duration.ofSeconds(60));
            assertThat(features).filteredOn(r -> r.value() != null).extracting(ConsumerRecord::key)
                    .hasSize(PHOTOS).doesNotHaveDuplicates();
            assertThat(curatorMetrics.get("rehearsal.curator.features.bytes").counter().count()).isEqualTo((double) PHOTOS * PIXELS);
            assertThat(trainerMetrics.get("rehearsal.trainer.features.missing").counter().count()).isZero();
            // and every photo was trained as fresh exactly once, with no dead letter anywhere
            Map<String, Integer> fresh = freshTrained(kafka, topics);
            assertThat(fresh).hasSize(PHOTOS).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
            assertThat(TestRecords.consumeRaw(kafka, topics.deadLetters().name(), 1, Duration.ofSeconds(2))).isEmpty();
            System.out.printf("%d photos of %,d bytes: %d batches, at most %d view groups and %,d bytes per batch; %,d features "
                            + "records of at most %,d bytes%n", PHOTOS, PIXELS, batches.size(), most,
                    batches.stream().mapToInt(ConsumerRecord::serializedValueSize).max().orElse(0), features.size(),
                    features.stream().mapToInt(ConsumerRecord::serializedValueSize).max().orElse(0));
            trainer.stop();
            training.get(60, TimeUnit.SECONDS);
        }
    }

    /** How often each photo was in a TRAIN batch as a fresh item. */
    private static Map<String, Integer> freshTrained(KafkaCluster kafka, Topics topics) {
        Map<String, Integer> fresh = new HashMap<>();
        for (ConsumerRecord<String, TrainBatch> r : TestRecords.consumeToEnd(kafka, topics.trainBatches(), Duration.ofSeconds(60))) {
            if (r.value().getKind() == BatchKind.TRAIN) {
                for (TrainItem i : r.value().getItems()) {
                    if (i.getRole() == ItemRole.FRESH) {
                        fresh.merge(i.getSampleId(), 1, Integer::sum);
                    }
                }
            }
        }
        return fresh;
    }
}
