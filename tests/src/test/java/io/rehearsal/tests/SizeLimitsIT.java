package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.DeadLetters;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records at the size boundaries of every topic a component reads, through a real broker into
 * {@code rehearsal curator}, {@code trainer} and {@code predictor} running as their own processes:
 * values of 1 MiB - 1, 1 MiB and 1 MiB + 1 bytes, the topic's limit - 200 and exactly the largest value
 * the topic takes (limit - record overhead), each as garbage and as a valid record that is wrong. Every
 * component stays up; every bad record has exactly one dead letter per component that reads it, with
 * its reason (on the model topics, where the contract is a refusal metric, exactly one refusal); every
 * dead letter is bounded; and good records after them are trained and served.
 *
 * <p>Sizes over a topic's limit cannot be written at all (the broker refuses them), so the feedback
 * topic (1 MiB) gets only its two sizes under the limit.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class SizeLimitsIT {
    private static final String MODEL = BadRecords.MODEL;
    private static final int DIMS = BadRecords.DIMS;
    private static final int MIB = 1 << 20;
    /** Batch header (61 bytes) and one record's framing with a key of up to 20 bytes: see largestValue. */
    private static final int KEY_BYTES = 20;
    private final Random random = new Random(5);
    private final HttpClient http = HttpClient.newHttpClient();

    /** A record to write and what each component must make of it. */
    private record Bad(String topic, String key, byte[] value, Map<String, String> reasons, String what) {
    }

    @Test
    void shouldDeadLetterRecordsAtEverySizeBoundaryAndKeepTraining(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        Topics topics = kafka.newTopics(1);
        List<String> common = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(),
                "--partitions", "1", "--input-shape", Integer.toString(DIMS), "--classes", Integer.toString(BadRecords.CLASSES));
        List<String> curatorArgs = new ArrayList<>(List.of("curator", "--model-id", MODEL, "--batch-size", "16",
                "--buffer-size", "100", "--linger", "PT1S", "--state-dir", dir.resolve("state").toString()));
        curatorArgs.addAll(common);
        List<String> trainerArgs = new ArrayList<>(List.of("trainer", "--model-id", MODEL, "--arch", "mlp", "--hidden", "16",
                "--snapshot-every", "PT1S"));
        trainerArgs.addAll(common);
        List<String> predictorArgs = new ArrayList<>(List.of("predictor", "--model-id", MODEL, "--follow", "latest"));
        predictorArgs.addAll(common.subList(0, 4));
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka);
             ComponentProcess curator = new ComponentProcess("curator", curatorArgs, Map.of(), dir, "768m");
             ComponentProcess trainer = new ComponentProcess("trainer", trainerArgs, Map.of(), dir, "768m");
             ComponentProcess predictor = new ComponentProcess("predictor", predictorArgs, Map.of(), dir, "768m")) {
            curator.start();
            trainer.start();
            predictor.start();
            List<ComponentProcess> all = List.of(curator, trainer, predictor);
            int port = predictor.metricsPort();

            // Given good samples, trained and served
            send(producer, topics.samples(), goodSamples("a", 64));
            ModelSnapshot before = awaitSnapshot(kafka, topics, 1, all);
            awaitServing(port, before.getVersion(), all);

            // When records at every size boundary arrive on every topic a component reads
            List<Bad> bad = new ArrayList<>();
            bad.addAll(samples(topics));
            bad.addAll(feedback(topics));
            bad.addAll(batches(topics));
            Map<String, String> expected = new TreeMap<>(); // "component topic@offset" -> reason
            for (Bad b : bad) {
                RecordMetadata m = producer.send(new ProducerRecord<>(b.topic(), 0, key(b.key()), b.value())).get();
                b.reasons().forEach((component, reason) -> expected.put(component + " " + m.topic() + "@" + m.offset(), reason));
            }
            int refusals = snapshots(producer, topics, before);
            System.out.printf("sent %d bad records up to %,d bytes and %d bad snapshots; expecting %d dead letters%n",
                    bad.size(), bad.stream().mapToInt(b -> b.value().length).max().orElse(0), refusals, expected.size());

            // and good records follow them
            send(producer, topics.samples(), goodSamples("z", 64));
            List<Sample> requests = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                requests.add(BadRecords.sample("q" + i, null, new BadRecords(topics, i).floats(i % BadRecords.CLASSES), Split.TRAIN));
            }
            send(producer, topics.samples(), requests);

            // Then the good samples after them are trained and a newer version is served
            ModelSnapshot after = awaitSnapshot(kafka, topics, before.getVersion() + 1, all);
            awaitTrained(kafka, topics, "z", 64, all);
            awaitServing(port, after.getVersion(), all);
            assertThat(TestRecordsAwait.predictions(kafka, topics, 8, Duration.ofSeconds(90)))
                    .extracting(r -> r.value().getSampleId()).contains("q0", "q7");
            // and every bad record has exactly its dead letters, bounded, and every bad snapshot one refusal
            Map<String, List<String>> got = new HashMap<>();
            List<ConsumerRecord<byte[], byte[]>> raw = TestRecordsAwait.raw(kafka, topics.deadLetters().name(), expected.size(),
                    Duration.ofSeconds(90));
            for (ConsumerRecord<byte[], byte[]> r : raw) {
                assertThat(r.serializedValueSize()).isLessThan(DeadLetters.MAX_ENCODED_BYTES);
                DeadLetter d = topics.deadLetters().deserializeValue(r.value());
                got.computeIfAbsent(d.getComponent() + " " + d.getSourceTopic() + "@" + d.getSourceOffset(),
                        k -> new ArrayList<>()).add(d.getReason());
            }
            List<String> wrong = new ArrayList<>();
            expected.forEach((where, reason) -> {
                if (!List.of(reason).equals(got.getOrDefault(where, List.of()))) {
                    wrong.add(where + " expected [" + reason + "] got " + got.getOrDefault(where, List.of()));
                }
            });
            got.keySet().stream().filter(k -> !expected.containsKey(k)).forEach(k -> wrong.add(k + " unexpected " + got.get(k)));
            assertThat(wrong).as("records without exactly their dead letters").isEmpty();
            assertThat(refused(port)).as("snapshots refused by the predictor").isEqualTo(refusals);
            // and no component restarted
            for (ComponentProcess c : all) {
                assertThat(c.alive()).as("%s alive; its log ends:%n%s", c.name(), c.logTail(30)).isTrue();
                assertThat(c.incarnation()).as(c.name()).isEqualTo(1);
            }
        }
    }

    // ---- the bad records ----

    /** Value sizes to try on a topic: 1 MiB +-1 where the topic takes them, limit - 200, and its largest value. */
    private static List<Integer> sizes(Topic<?, ?> topic) {
        int largest = largestValue(topic);
        List<Integer> out = new ArrayList<>();
        for (int s : new int[] {MIB - 1, MIB, MIB + 1, topic.maxMessageBytes() - 200, largest}) {
            if (s <= largest && !out.contains(s)) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The largest value the topic takes with a key of {@value #KEY_BYTES} bytes or fewer: a record batch of
     * one record is 61 bytes of batch header, then the record's length (4 bytes at these sizes), attributes,
     * timestamp and offset deltas (1 each), the key's length (1) and key, the value's length (4) and value,
     * and a header count (1).
     */
    private static int largestValue(Topic<?, ?> topic) {
        return topic.maxMessageBytes() - 61 - 4 - 3 - 1 - KEY_BYTES - 4 - 1;
    }

    private List<Bad> samples(Topics topics) {
        List<Bad> out = new ArrayList<>();
        for (int size : sizes(topics.samples())) {
            out.add(new Bad(topics.samples().name(), "g" + size, garbage(size),
                    Map.of("curator", "BAD_MARKER", "predictor", "BAD_MARKER"), "garbage"));
            out.add(new Bad(topics.samples().name(), "j" + size, json(size),
                    Map.of("curator", "MALFORMED_JSON", "predictor", "MALFORMED_JSON"), "unterminated JSON"));
            out.add(new Bad(topics.samples().name(), "w" + size, exactly(size, n -> topics.samples().serializeValue(
                    bigSample("w" + size, MODEL, null, n))),
                    Map.of("curator", "SHAPE_MISMATCH", "predictor", "SHAPE_MISMATCH"), "a request of the wrong shape"));
            out.add(new Bad(topics.samples().name(), "u" + size, exactly(size, n -> topics.samples().serializeValue(
                    bigSample("u" + size, "nosuch", 1, n))), Map.of("curator", "UNKNOWN_MODEL"), "a sample of an unknown model"));
        }
        return out;
    }

    private List<Bad> feedback(Topics topics) {
        List<Bad> out = new ArrayList<>();
        for (int size : sizes(topics.feedback())) {
            out.add(new Bad(topics.feedback().name(), "g" + size, garbage(size), Map.of("curator", "BAD_MARKER"), "garbage"));
            out.add(new Bad(topics.feedback().name(), "i" + size, exactly(size, n -> topics.feedback().serializeValue(
                    Feedback.newBuilder().setSampleId("x".repeat(n)).setModelId(MODEL).setKind(FeedbackKind.LABEL).setLabel(1)
                            .setEventTime(Instant.now()).build())), Map.of("curator", "INVALID_VALUE"), "a sample id of megabytes"));
            out.add(new Bad(topics.feedback().name(), "a" + size, exactly(size, n -> ("{\"sampleId\":\"a0\",\"kind\":\"CONFIRM\","
                    + "\"annotator\":\"" + "a".repeat(n) + "\"}").getBytes(StandardCharsets.UTF_8)),
                    Map.of("curator", "INVALID_VALUE"), "an annotator of megabytes (JSON)"));
        }
        return out;
    }

    private List<Bad> batches(Topics topics) {
        List<Bad> out = new ArrayList<>();
        for (int size : sizes(topics.trainBatches())) {
            out.add(new Bad(topics.trainBatches().name(), MODEL, garbage(size), Map.of("trainer", "BAD_MARKER"), "garbage"));
            out.add(new Bad(topics.trainBatches().name(), MODEL, exactly(size, n -> topics.trainBatches().serializeValue(
                    bigBatch(n))), Map.of("trainer", "SHAPE_MISMATCH"), "a batch of features the model does not take"));
        }
        return out;
    }

    /**
     * Bad snapshots of every size on model-updates (garbage, and a snapshot whose inline weights do not match
     * their hash) and model-chunks (a snapshot whose chunk is garbage of every size); returns how many the
     * predictor must refuse.
     */
    private int snapshots(KafkaProducer<byte[], byte[]> producer, Topics topics, ModelSnapshot real) throws Exception {
        int refusals = 0;
        long version = 1_000_000;
        AvroSerde<SnapshotChunk> chunks = AvroSerde.of(SnapshotChunk.class);
        for (int size : sizes(topics.modelUpdates())) {
            producer.send(new ProducerRecord<>(topics.modelUpdates().name(), 0, key(MODEL), garbage(size))).get();
            long v = version++;
            producer.send(new ProducerRecord<>(topics.modelUpdates().name(), 0, key(MODEL), exactly(size, n ->
                    topics.modelUpdates().serializeValue(ModelSnapshot.newBuilder(real).setVersion(v).setSignature(null)
                            .setOptimizerState(null).setParameters(new ParameterBlob("npz", (long) n, "00".repeat(32),
                                    ByteBuffer.wrap(new byte[n]), List.of())).build())))).get();
            refusals += 2;
        }
        for (int size : sizes(topics.modelChunks())) {
            long v = version++;
            String chunkKey = MODEL + "/" + v + "/0";
            byte[] chunk = exactly(size, n -> chunks.encode(new SnapshotChunk(MODEL, v, 0, 1, ByteBuffer.wrap(garbage(n)))));
            RecordMetadata at = producer.send(new ProducerRecord<>(topics.modelChunks().name(), 0, key(chunkKey), chunk)).get();
            int data = chunks.decode(chunk).getData().remaining();
            producer.send(new ProducerRecord<>(topics.modelUpdates().name(), 0, key(MODEL), topics.modelUpdates().serializeValue(
                    ModelSnapshot.newBuilder(real).setVersion(v).setSignature(null).setOptimizerState(null)
                            .setParameters(new ParameterBlob("npz", (long) data, "11".repeat(32), null,
                                    List.of(new ChunkRef(topics.modelChunks().name(), 0, at.offset(), data, "22".repeat(32)))))
                            .build()))).get();
            refusals++;
        }
        return refusals;
    }

    private byte[] garbage(int size) {
        byte[] b = new byte[size];
        random.nextBytes(b);
        if (size > 0) {
            b[0] = 0x01; // neither Avro's C3 nor JSON's {
        }
        return b;
    }

    private static byte[] json(int size) {
        byte[] b = new byte[size];
        java.util.Arrays.fill(b, (byte) 'x');
        byte[] head = "{\"id\":\"".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(head, 0, b, 0, head.length);
        return b;
    }

    /** {@code encode(n)} with {@code n} chosen so that the encoding is exactly {@code size} bytes. */
    private static byte[] exactly(int size, IntFunction<byte[]> encode) {
        int n = Math.max(0, size - encode.apply(0).length);
        for (int tries = 0; tries < 16; tries++) {
            byte[] b = encode.apply(n);
            if (b.length == size) {
                return b;
            }
            n += size - b.length;
        }
        throw new IllegalStateException("cannot encode exactly " + size + " bytes");
    }

    private static Sample bigSample(String id, String model, Integer label, int bytes) {
        return Sample.newBuilder().setId(id).setModelId(model).setFeatures(FeatureTensor.ofBytes(new int[] {bytes}, new byte[bytes]))
                .setLabel(label).setSplit(Split.TRAIN).setEventTime(Instant.now()).build();
    }

    private static TrainBatch bigBatch(int bytes) {
        TrainItem item = TrainItem.newBuilder().setSampleId("big").setLabel(1).setLabelVersion(0)
                .setFeatures(FeatureTensor.ofBytes(new int[] {bytes}, new byte[bytes])).setViews(1).setGroupId(0)
                .setRole(ItemRole.FRESH).setRecallCount(0).setSourcePartition(0).setSourceOffset(0).setEventTime(Instant.EPOCH).build();
        return TrainBatch.newBuilder().setBatchId(MODEL + "/big/0").setModelId(MODEL).setShard(0).setSequence(0)
                .setKind(BatchKind.TRAIN).setViews(1).setItems(List.of(item))
                .setStats(new ScheduleStats(1, 0, 0, 0, 0.0, 0, 0, 1)).setSampleOffset(-1).setCreatedTime(Instant.EPOCH).build();
    }

    // ---- helpers ----

    private static List<Sample> goodSamples(String prefix, int n) {
        BadRecords source = new BadRecords(null, prefix.hashCode());
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = i % BadRecords.CLASSES;
            out.add(BadRecords.sample(prefix + i, label, source.floats(label), Split.TRAIN));
        }
        return out;
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Topic<String, Sample> topic, List<Sample> samples)
            throws Exception {
        for (Sample s : samples) {
            producer.send(new ProducerRecord<>(topic.name(), 0, key(s.getId()), topic.serializeValue(s))).get();
        }
    }

    private static byte[] key(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (k.length > KEY_BYTES) {
            throw new IllegalArgumentException("keys of this test stay within " + KEY_BYTES + " bytes: " + key);
        }
        return k;
    }

    private static KafkaProducer<byte[], byte[]> producer(KafkaCluster kafka) {
        Map<String, Object> p = new HashMap<>(kafka.clientProperties());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * MIB);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * MIB);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static ModelSnapshot awaitSnapshot(KafkaCluster kafka, Topics topics, long version, List<ComponentProcess> all)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            alive(all);
            for (ConsumerRecord<byte[], byte[]> r : TestRecordsAwait.raw(kafka, topics.modelUpdates().name(), Integer.MAX_VALUE,
                    Duration.ofSeconds(2))) {
                try {
                    ModelSnapshot s = topics.modelUpdates().deserializeValue(r.value());
                    if (s.getVersion() >= version && s.getVersion() < 1_000_000) {
                        return s;
                    }
                } catch (RuntimeException e) {
                    // our garbage
                }
            }
            assertThat(System.nanoTime()).as("a snapshot of version %d", version).isLessThan(deadline);
        }
    }

    private static void awaitTrained(KafkaCluster kafka, Topics topics, String prefix, int n, List<ComponentProcess> all) {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            alive(all);
            long fresh = TestRecordsAwait.raw(kafka, topics.trainBatches().name(), Integer.MAX_VALUE, Duration.ofSeconds(2)).stream()
                    .map(r -> {
                        try {
                            return topics.trainBatches().deserializeValue(r.value());
                        } catch (RuntimeException e) {
                            return null; // our garbage
                        }
                    })
                    .filter(b -> b != null && b.getKind() == BatchKind.TRAIN)
                    .flatMap(b -> b.getItems().stream())
                    .filter(i -> i.getRole() == ItemRole.FRESH && i.getSampleId().startsWith(prefix)).count();
            if (fresh == n) {
                return;
            }
            assertThat(fresh).as("fresh %s* items", prefix).isLessThanOrEqualTo(n);
            assertThat(System.nanoTime()).as("%d samples %s* trained", n, prefix).isLessThan(deadline);
        }
    }

    private void awaitServing(int port, long version, List<ComponentProcess> all) {
        Pattern served = Pattern.compile("\"version\"\\s*:\\s*(\\d+)");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).ignoreExceptionsInstanceOf(java.io.IOException.class)
                .failFast("a component exited", () -> all.stream().anyMatch(c -> c.exitCode() != null))
                .until(() -> {
                    Matcher m = served.matcher(get(port, "/model"));
                    return m.find() && Long.parseLong(m.group(1)) >= version;
                });
    }

    private int refused(int port) throws Exception {
        Matcher m = Pattern.compile("(?m)^rehearsal_subscriber_snapshots_refused_total\\{[^}]*} ([0-9.]+)").matcher(get(port, "/metrics"));
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group(1));
        }
        return (int) total;
    }

    private String get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static void alive(List<ComponentProcess> all) {
        for (ComponentProcess c : all) {
            assertThat(c.exitCode()).as("the %s exited; its log ends:%n%s", c.name(), c.logTail(40)).isNull();
        }
    }

    /** Reading topics, waiting for a count or a timeout. */
    private static final class TestRecordsAwait {
        static List<ConsumerRecord<byte[], byte[]>> raw(KafkaCluster kafka, String topic, int count, Duration timeout) {
            return io.rehearsal.testkit.TestRecords.consumeRaw(kafka, topic, count, timeout);
        }

        static List<ConsumerRecord<String, Prediction>> predictions(KafkaCluster kafka, Topics topics, int count, Duration timeout) {
            return io.rehearsal.testkit.TestRecords.consume(kafka, topics.predictions(), count, timeout);
        }
    }
}
