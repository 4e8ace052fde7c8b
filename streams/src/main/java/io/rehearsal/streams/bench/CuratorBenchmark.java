package io.rehearsal.streams.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * How fast the curator ingests 784-float samples, next to how fast Kafka's own producer writes records
 * of the same size to the same broker: the two numbers the brief asks for (a benchmark, not a test).
 *
 * <ol>
 *   <li>Producer baseline: {@code n} records of the sample's encoded size (random bytes) with
 *       {@code acks=all}, timed from the first send to the end of {@code flush()}, like Kafka's
 *       {@code ProducerPerformance}.</li>
 *   <li>The {@code n} labeled samples (Avro single-object, 784 float32, 10 classes) are produced to a
 *       fresh samples topic.</li>
 *   <li>The curator ({@link CuratorApp}, exactly-once, RocksDB) starts on them; its throughput is
 *       {@code n} over the time from RUNNING to the last committed batch (read with
 *       {@code read_committed}, as the trainer reads them). Without linger every TRAIN batch carries
 *       exactly ceil(rho_new * G) fresh samples, so the reader counts records and decodes only the last.</li>
 * </ol>
 */
public final class CuratorBenchmark {
    private CuratorBenchmark() {
    }

    /** The measured numbers. */
    public record Result(int samples, int recordBytes, Duration producerTime, Duration curatorTime, long batches) {
        public double producerRecordsPerSecond() {
            return samples / seconds(producerTime);
        }

        public double producerMegabytesPerSecond() {
            return samples * (double) recordBytes / (1 << 20) / seconds(producerTime);
        }

        public double curatorSamplesPerSecond() {
            return samples / seconds(curatorTime);
        }

        /** One human-readable paragraph. */
        public String report() {
            return String.format(Locale.ROOT,
                    "records: %d samples of 784 float32, %d bytes each (Avro single-object)%n"
                            + "kafka producer (acks=all):  %,10.0f records/s  (%.1f MiB/s, %.2f s)%n"
                            + "curator (exactly_once_v2):  %,10.0f samples/s  (%.2f s, %d batches)%n"
                            + "curator / producer:         %10.2f",
                    samples, recordBytes, producerRecordsPerSecond(), producerMegabytesPerSecond(), seconds(producerTime),
                    curatorSamplesPerSecond(), seconds(curatorTime), batches,
                    curatorSamplesPerSecond() / producerRecordsPerSecond());
        }

        private static double seconds(Duration d) {
            return Math.max(1e-9, d.toNanos() / 1e9);
        }
    }

    /** Default settings for the benchmark: the curator's defaults, without linger (n is a multiple of the fresh groups). */
    public static CuratorSettings defaultSettings() {
        return CuratorSettings.defaults().optContract(ModelContract.fashionMnist()).optLinger(Duration.ZERO);
    }

    /**
     * Runs both measurements against the cluster that {@code clientProperties} reach.
     *
     * @param samples  how many samples (rounded up to a multiple of the fresh groups)
     * @param stateDir an empty directory for the curator's state
     */
    public static Result run(Map<String, Object> clientProperties, int samples, CuratorSettings settings, Path stateDir)
            throws InterruptedException {
        int fresh = settings.freshGroups();
        int n = (samples + fresh - 1) / fresh * fresh;
        Topics topics = new Topics("bench-" + UUID.randomUUID().toString().substring(0, 8), 1);
        Topic<byte[], byte[]> baseline = new Topic<>(topics.prefix() + ".producer-baseline",
                org.apache.kafka.common.serialization.Serdes.ByteArray(), org.apache.kafka.common.serialization.Serdes.ByteArray(),
                1, Map.of());
        try (Admin admin = Admin.create(new HashMap<>(clientProperties))) {
            new TopicAdmin(admin).ensure(List.of(topics.samples(), topics.feedback(), topics.trainBatches(),
                    topics.deadLetters(), baseline));
        }
        List<byte[]> encoded = samples(topics, n, 7);
        int recordBytes = encoded.get(0).length;

        Duration producerTime;
        try (KafkaProducer<byte[], byte[]> producer = producer(clientProperties)) {
            byte[] payload = new byte[recordBytes];
            new Random(1).nextBytes(payload);
            producer.send(new ProducerRecord<>(baseline.name(), payload)).get(); // connect and warm up
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(baseline.name(), payload));
            }
            producer.flush();
            producerTime = Duration.ofNanos(System.nanoTime() - t0);
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topics.samples().name(), ("b" + i).getBytes(), encoded.get(i)));
            }
            producer.flush();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the benchmark cannot write to the broker: " + e.getCause(), e.getCause());
        }

        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        try (CuratorApp app = new CuratorApp(settings, topics, props, new SimpleMeterRegistry());
             KafkaConsumer<byte[], byte[]> batches = batchConsumer(clientProperties, topics)) {
            app.start();
            if (!app.awaitRunning(Duration.ofMinutes(2))) {
                throw new IllegalStateException("the curator did not reach RUNNING within 2 minutes: " + app.state());
            }
            long t0 = System.nanoTime();
            long expectedBatches = n / fresh; // no linger, no eval samples: every batch carries exactly F fresh
            long batchCount = 0;
            long last = t0;
            long deadline = t0 + Duration.ofMinutes(10).toNanos();
            TrainBatch lastBatch = null;
            while (batchCount < expectedBatches) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the curator emitted " + batchCount + " of " + expectedBatches
                            + " batches in 10 minutes");
                }
                for (ConsumerRecord<byte[], byte[]> r : batches.poll(Duration.ofMillis(100))) {
                    batchCount++;
                    last = System.nanoTime();
                    if (batchCount == expectedBatches) {
                        lastBatch = topics.trainBatches().deserializeValue(r.value());
                    }
                }
            }
            long freshInLast = lastBatch.getItems().stream().filter(i -> i.getRole() == ItemRole.FRESH).count();
            if (lastBatch.getSequence() != expectedBatches - 1 || freshInLast != fresh) {
                throw new IllegalStateException("unexpected last batch " + lastBatch.getBatchId() + " with " + freshInLast + " fresh items");
            }
            return new Result(n, recordBytes, producerTime, Duration.ofNanos(last - t0), batchCount);
        }
    }

    /** {@code n} labeled Fashion-MNIST-shaped samples with random pixels, encoded as a producer would. */
    static List<byte[]> samples(Topics topics, int n, long seed) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>(n);
        float[] pixels = new float[784];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < pixels.length; p++) {
                pixels[p] = r.nextFloat();
            }
            Sample s = Sample.newBuilder().setId("b" + i).setModelId("default")
                    .setFeatures(FeatureTensor.ofFloats(new int[] {784}, pixels)).setLabel(r.nextInt(10))
                    .setSplit(Split.TRAIN).setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + i)).build();
            out.add(topics.samples().serializeValue(s));
        }
        return out;
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> clientProperties) {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> batchConsumer(Map<String, Object> clientProperties, Topics topics) {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, topics.prefix() + "-bench-reader");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topics.trainBatches().name()));
        return c;
    }
}
