package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against a real broker: kill the curator (SIGKILL, mid-stream), restart it on an empty state directory,
 * and check that the buffer and schedule came back from the changelogs exactly: the committed batches
 * are identical to those of an uninterrupted run of the same input, with none lost or duplicated.
 */
@ExtendWith(KafkaBrokerExtension.class)
class CuratorRestartIT {
    private static final int SAMPLES = 4000;
    private static final int CHUNK = 100;

    /** Settings of both the killed curator and the reference run: every rule active, nothing wall-clock driven. */
    static CuratorSettings settings() {
        return Given.settings().optLongTermCapacity(60).optShortTermRecalls(1).optShortTermCapacity(200)
                .optJitter(0.2).optIntervals(4, 32, 1).optIntervalGrowth(1.5).optEvalEverySteps(100)
                .optEvalCapacityPerClass(5).optLinger(Duration.ZERO).optIdleReplay(Duration.ZERO);
    }

    @Test
    @Timeout(240)
    void shouldRestoreTheBufferAndScheduleAfterAKillAndLoseOrDuplicateNoBatch(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        // Given an input stream of samples, held-out samples and garbage (one partition), and the batches an
        // uninterrupted curator makes of it (after each chunk of 100 records)
        Topics topics = kafka.newTopics(1);
        List<byte[][]> input = input(new Random(5));
        List<TrainBatch> expected = new ArrayList<>();
        List<DeadLetter> expectedLetters = new ArrayList<>();
        List<Integer> batchesAfterChunk = new ArrayList<>();
        try (InProcessCurator reference = new InProcessCurator(settings())) {
            for (int i = 0; i < input.size(); i++) {
                reference.sample(input.get(i)[0], input.get(i)[1]);
                expected.addAll(reference.batches());
                expectedLetters.addAll(reference.deadLetters());
                if ((i + 1) % CHUNK == 0) {
                    batchesAfterChunk.add(expected.size());
                }
            }
        }
        int chunks = input.size() / CHUNK;

        try (KafkaProducer<byte[], byte[]> producer = producer(kafka); BatchReader reader = new BatchReader(kafka, topics)) {
            // When a curator runs while the stream is produced chunk by chunk
            Process curator = startCurator(kafka, topics, dir.resolve("state-1"), dir.resolve("curator-1.log"));
            int seenAtKill = -1;
            try {
                for (int c = 0; c < chunks; c++) {
                    send(producer, topics, input.subList(c * CHUNK, (c + 1) * CHUNK));
                    if (c == chunks / 3) {
                        // and is killed (SIGKILL) right after a third of the stream was sent, mid-chunk
                        curator.destroyForcibly().waitFor();
                        seenAtKill = reader.poll();
                        // and restarted with an empty state directory: its state can only come from the changelogs
                        curator = startCurator(kafka, topics, dir.resolve("state-2"), dir.resolve("curator-2.log"));
                    }
                    int previous = c == 0 ? 0 : batchesAfterChunk.get(c - 1);
                    await(Duration.ofSeconds(90), () -> reader.poll() >= previous);
                }
                await(Duration.ofSeconds(90), () -> reader.poll() >= expected.size()
                        && reader.letters.size() >= expectedLetters.size());
                reader.poll();
            } finally {
                curator.destroyForcibly().waitFor();
            }

            System.out.printf("killed after %d of %d batches had been committed; %d dead letters%n",
                    seenAtKill, expected.size(), expectedLetters.size());
            // Then the kill happened mid-stream
            assertThat(seenAtKill).isBetween(1, expected.size() / 2);
            // and the committed batches are exactly those of the uninterrupted run: same samples, labels,
            // recall counts, groups and order; none lost, none twice
            assertThat(withoutWallClock(reader.batches)).isEqualTo(withoutWallClock(expected));
            assertThat(withoutTime(reader.letters)).isEqualTo(withoutTime(expectedLetters));
        }
    }

    private static List<byte[][]> input(Random r) {
        List<byte[][]> records = new ArrayList<>();
        for (int i = 0; i < SAMPLES; i++) {
            String id = "s" + i;
            int phase = i * 3 / SAMPLES;
            byte[] value;
            double roll = r.nextDouble();
            if (roll < 0.03) {
                value = new byte[] {7, 7, 7};
            } else if (roll < 0.06) {
                value = Given.json("{\"id\":\"" + id + "\",\"features\":{\"shape\":[4],\"float32\":[1,2,3,4]}}");
            } else if (roll < 0.09) {
                value = new Topics("x", 1).samples().serializeValue(Given.eval(id, r.nextInt(6)));
            } else {
                value = new Topics("x", 1).samples().serializeValue(Given.sample(id, phase * 2 + r.nextInt(2)));
            }
            records.add(new byte[][] {id.getBytes(StandardCharsets.UTF_8), value});
        }
        return records;
    }

    private static KafkaProducer<byte[], byte[]> producer(KafkaCluster kafka) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Topics topics, List<byte[][]> records) {
        for (byte[][] kv : records) {
            producer.send(new ProducerRecord<>(topics.samples().name(), 0, kv[0], kv[1]));
        }
        producer.flush();
    }

    private static Process startCurator(KafkaCluster kafka, Topics topics, Path stateDir, Path log) throws Exception {
        Files.createDirectories(stateDir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx384m", "-cp", System.getProperty("java.class.path"),
                CuratorProcessMain.class.getName(), kafka.bootstrapServers(), topics.prefix(), stateDir.toString());
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }

    private static void await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + timeout);
            }
        }
    }

    private static List<TrainBatch> withoutWallClock(List<TrainBatch> batches) {
        return batches.stream().map(b -> TrainBatch.newBuilder(b).setCreatedTime(Instant.EPOCH).build()).toList();
    }

    private static List<String> withoutTime(List<DeadLetter> letters) {
        return letters.stream().map(d -> d.getReason() + "@" + d.getSourceOffset()).toList();
    }

    /** Reads committed batches and dead letters (read_committed), as the trainer would. */
    private static final class BatchReader implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Topics topics;
        final List<TrainBatch> batches = new ArrayList<>();
        final List<DeadLetter> letters = new ArrayList<>();

        BatchReader(KafkaCluster kafka, Topics topics) {
            this.topics = topics;
            Map<String, Object> props = new HashMap<>(kafka.clientProperties());
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-reader-" + topics.prefix());
            props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            consumer.subscribe(List.of(topics.trainBatches().name(), topics.deadLetters().name()));
        }

        /** Polls once; returns how many batches have been read. */
        int poll() {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.topic().equals(topics.trainBatches().name())) {
                    batches.add(topics.trainBatches().deserializeValue(r.value()));
                } else {
                    letters.add(topics.deadLetters().deserializeValue(r.value()));
                }
            }
            return batches.size();
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

}
