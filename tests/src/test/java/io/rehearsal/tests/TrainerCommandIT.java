package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.rehearsal.broker.junit.KafkaBrokerExtension;
import io.rehearsal.broker.junit.KafkaCluster;
import io.rehearsal.broker.junit.TestRecords;
import io.rehearsal.cli.chaos.ComponentProcess;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rehearsal trainer} as its own process, stopped as Kubernetes stops a pod: SIGTERM
 * ({@link Process#destroy()} on Linux). It must exit within 5 seconds, having published its final
 * snapshot, idle or in the middle of training. The exit code is 143 (128 + SIGTERM): the JVM's status for
 * a run that a SIGTERM ended, after the shutdown hook has stopped the trainer cleanly.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TrainerCommandIT {
    private static final String MODEL = "sigterm";
    private static final int DIMS = 16;
    private static final int CLASSES = 4;
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Duration STOP_WITHIN = Duration.ofSeconds(5);
    private static final Pattern PUBLISHED = Pattern.compile("published version (\\d+) at step (\\d+)");

    @Test
    void shouldStopWithinFiveSecondsOfSigtermWhenIdle(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given a trainer process that has started and has nothing to train
        Topics topics = kafka.newTopics();
        try (ComponentProcess trainer = trainer(kafka, topics, dir)) {
            trainer.start();
            awaitWhileAlive(trainer, "started", () -> Files.readString(trainer.log()).contains("resuming after version"));

            // When it gets SIGTERM
            long started = System.nanoTime();
            int exit = trainer.stop(Duration.ofSeconds(30));
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            // Then it exits within 5 seconds, with the JVM's status for a SIGTERM
            String output = Files.readString(trainer.log());
            assertThat(took).as("stop time; log:\n%s", output).isLessThan(STOP_WITHIN);
            assertThat(exit).as(output).isEqualTo(143);
            assertThat(output).doesNotContain("not stopped within");
        }
    }

    @Test
    void shouldPublishItsFinalSnapshotAndStopWithinFiveSecondsOfSigtermWhileTraining(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        // Given far more batches than the trainer takes before the SIGTERM, and a trainer that would not snapshot
        // on its own for an hour
        Topics topics = kafka.newTopics();
        int batches = 4000;
        produceBatches(kafka, topics, batches);
        try (ComponentProcess trainer = trainer(kafka, topics, dir)) {
            trainer.start();
            // When it gets SIGTERM in the middle of training
            awaitWhileAlive(trainer, "100 steps trained",
                    () -> trainer.metric("rehearsal_trainer_steps_total").orElse(0) >= 100);
            long started = System.nanoTime();
            int exit = trainer.stop(Duration.ofSeconds(30));
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            // Then it exits within 5 seconds, with the JVM's status for a SIGTERM
            String output = Files.readString(trainer.log());
            assertThat(took).as("stop time; log:\n%s", output).isLessThan(STOP_WITHIN);
            assertThat(exit).as(output).isEqualTo(143);
            // having published a final snapshot of what it trained, in the middle of the batches
            Matcher published = PUBLISHED.matcher(output);
            assertThat(published.find()).as("a final snapshot in the log:\n%s", output).isTrue();
            long version = Long.parseLong(published.group(1));
            long step = Long.parseLong(published.group(2));
            assertThat(published.find()).as("only the final snapshot").isFalse();
            assertThat(step).isBetween(100L, batches - 1L);
            List<ConsumerRecord<String, ModelSnapshot>> snapshots = TestRecords.consume(kafka, topics.modelUpdates(), 2,
                    Duration.ofSeconds(10));
            assertThat(snapshots).singleElement().satisfies(r -> {
                assertThat(r.value().getVersion()).isEqualTo(version);
                assertThat(r.value().getStep()).isEqualTo(step);
                // covering exactly the batches it trained: the next trainer goes on from there
                assertThat(r.value().getProvenance().getBatchOffsets()).singleElement()
                        .satisfies(o -> assertThat(o.getOffset()).isEqualTo(step));
            });
        }
    }

    private static ComponentProcess trainer(KafkaCluster kafka, Topics topics, Path dir) {
        return new ComponentProcess("trainer", List.of("trainer", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic-prefix", topics.prefix(), "--model-id", MODEL, "--input-shape", Integer.toString(DIMS),
                "--classes", Integer.toString(CLASSES), "--hidden", "256,256", "--snapshot-every-steps", "1000000",
                "--snapshot-every", "PT1H"), Map.of(), dir, "384m");
    }

    private static void awaitWhileAlive(ComponentProcess process, String what, Callable<Boolean> condition) {
        await(what).atMost(WAIT).pollInterval(Duration.ofMillis(50))
                .failFast(() -> assertThat(process.exitCode()).as("the trainer exited before %s:\n%s", what,
                        Files.readString(process.log())).isNull())
                .until(condition);
    }

    /** TRAIN batches of 64 items of 4 views each: a few milliseconds per step, so thousands take a while. */
    private static void produceBatches(KafkaCluster kafka, Topics topics, int n) {
        SplittableRandom random = new SplittableRandom(5);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            List<TrainItem> items = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                float[] x = new float[DIMS];
                int label = random.nextInt(CLASSES);
                for (int d = 0; d < DIMS; d++) {
                    x[d] = (float) random.nextGaussian() + (d % CLASSES == label ? 2f : 0f);
                }
                items.add(new TrainItem("s" + b + "-" + i, label, 0, FeatureTensor.ofFloats(new int[] {DIMS}, x), 4, i,
                        ItemRole.FRESH, 0, null, 0, (long) b, Instant.now()));
            }
            TrainBatch batch = new TrainBatch(MODEL + "/0/" + b, MODEL, 0, (long) b, BatchKind.TRAIN, 4, items,
                    new ScheduleStats(64, 0, 0, 0, 0.0, 0, 0, CLASSES), (long) b, null, Instant.now());
            records.add(new ProducerRecord<>(topics.trainBatches().name(), topics.trainBatches().serializeKey(MODEL),
                    topics.trainBatches().serializeValue(batch)));
        }
        TestRecords.produceRaw(kafka, records);
    }
}
