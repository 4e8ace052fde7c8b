package io.rehearsal.bench.restart;

import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One variant: start {@code rehearsal curator} (one or two instances, each its own JVM and state directory),
 * fill its buffer with Fashion-MNIST-sized samples, then restart it: SIGKILL and start again at once, as a
 * supervisor does, {@code kills} times, then once with SIGTERM. After each start it sends one batch's worth of
 * fresh samples and measures, from the new process's start, when {@code /ready} answers 200 and when the
 * first new batch is committed on the batches topic; the log says where the time went ({@link RestartLog}).
 */
public final class RestartRun {
    /** ceil(0.125 * 64): the fresh samples that make the default settings emit a batch at once. */
    private static final int FRESH_PER_BATCH = 8;
    private static final Duration DEADLINE = Duration.ofMinutes(3);
    private static final Duration QUIET = Duration.ofSeconds(4); // longer than the default 2 s linger

    /** How a restart went; times in ms after the new process was started (stop: after the signal). */
    public record Restart(String how, long stopMs, long readyMs, long firstBatchMs, RestartLog log) {
    }

    /** A variant's figures. */
    public record Result(RestartVariant variant, int samples, long fillMs, long heldEntries, List<Restart> restarts) {
    }

    private final RestartVariant variant;
    private final String bootstrap;
    private final Path dir;
    private final String dtype;
    private final Map<String, String> extra;
    private final PrintStream out;
    private final Topics topics;
    private final SplittableRandom random = new SplittableRandom(7);
    private int sent;

    private RestartRun(RestartVariant variant, String bootstrap, Path dir, String dtype, Map<String, String> extra, PrintStream out) {
        this.variant = variant;
        this.bootstrap = bootstrap;
        this.dir = dir;
        this.dtype = dtype;
        this.extra = Map.copyOf(extra);
        this.out = out;
        this.topics = new Topics("restart-" + variant.name().replaceAll("[^A-Za-z0-9]", "-"), 1);
    }

    /**
     * @param dtype {@code uint8} or {@code float32} features of 784 elements
     * @param extra Kafka properties added to every variant's (e.g. {@code session.timeout.ms})
     */
    public static Result run(RestartVariant variant, String bootstrap, Path dir, int samples, String dtype, int kills,
                             Map<String, String> extra, PrintStream out) throws Exception {
        return new RestartRun(variant, bootstrap, Files.createDirectories(dir), dtype, extra, out).run(samples, kills);
    }

    private Result run(int samples, int kills) throws Exception {
        Map<String, Object> client = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        List<ComponentProcess> curators = new ArrayList<>();
        try (Admin admin = Admin.create(client)) {
            new TopicAdmin(admin).ensure(topics.all());
        }
        try (Admin admin = Admin.create(client);
             KafkaProducer<byte[], byte[]> producer = producer(client);
             KafkaConsumer<byte[], byte[]> batches = batchReader(client)) {
            for (int i = 0; i < variant.instances(); i++) {
                curators.add(curator("curator-" + (char) ('a' + i)));
            }
            long t0 = System.nanoTime();
            curators.forEach(ComponentProcess::start);
            for (ComponentProcess c : curators) {
                awaitReady(c);
            }
            send(producer, samples);
            awaitCaughtUp(admin, batches, curators);
            long fillMs = (System.nanoTime() - t0) / 1_000_000;
            out.printf("%s: %d %s samples in, curator caught up after %d ms%n", variant.name(), samples, dtype, fillMs);
            List<Restart> restarts = new ArrayList<>();
            long held = -1;
            for (int k = 0; k <= kills; k++) {
                boolean graceful = k == kills;
                ComponentProcess target = active(curators);
                Restart r = restart(target, curators, producer, batches, graceful);
                restarts.add(r);
                held = Math.max(held, r.log().indexedEntries());
                out.printf("%s: %s %s: stop %d ms, ready %d ms, first new batch %d ms; restore %d records in %d ms, "
                                + "index %d entries in %d ms, RUNNING at %d ms, state wiped: %s%n", variant.name(), r.how(),
                        target.name(), r.stopMs(), r.readyMs(), r.firstBatchMs(), r.log().restoredRecords(), r.log().restoreMs(),
                        r.log().indexedEntries(), r.log().indexMs(), r.log().runningMs(), r.log().wiped());
                awaitCaughtUp(admin, batches, curators);
            }
            return new Result(variant, samples, fillMs, held, restarts);
        } finally {
            for (ComponentProcess c : curators) {
                c.stop(Duration.ofSeconds(10));
            }
        }
    }

    private ComponentProcess curator(String id) throws IOException {
        Map<String, String> props = new HashMap<>(variant.propertiesFor(id));
        props.putAll(extra);
        Path config = dir.resolve(id + ".properties");
        Files.writeString(config, props.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("\n", "", "\n")));
        List<String> args = List.of("curator", "--bootstrap-servers", bootstrap, "--topic-prefix", topics.prefix(),
                "--partitions", "1", "--kafka-config", config.toString(), "--state-dir", dir.resolve("state-" + id).toString());
        // Streams' own lines about checkpoints and wiped state, for RestartLog
        String logLevels = "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.ProcessorStateManager=info"
                + " -Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.TaskManager=info"
                + " -Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.StateManagerUtil=info";
        return new ComponentProcess(id, args, Map.of("JAVA_TOOL_OPTIONS", logLevels), dir, "768m");
    }

    private Restart restart(ComponentProcess target, List<ComponentProcess> curators, KafkaProducer<byte[], byte[]> producer,
                            KafkaConsumer<byte[], byte[]> batches, boolean graceful) throws Exception {
        batches.seekToEnd(batches.assignment());
        batches.assignment().forEach(batches::position);
        long stopMs;
        long signalled = System.nanoTime();
        if (graceful) {
            target.stop(Duration.ofSeconds(60));
        } else {
            target.kill();
        }
        stopMs = (System.nanoTime() - signalled) / 1_000_000;
        Instant startedAt = Instant.now();
        long started = System.nanoTime();
        target.start();
        send(producer, FRESH_PER_BATCH);
        long readyMs = -1;
        long batchMs = -1;
        long deadline = started + DEADLINE.toNanos();
        while ((readyMs < 0 || batchMs < 0) && System.nanoTime() < deadline) {
            if (readyMs < 0 && target.ready()) {
                readyMs = (System.nanoTime() - started) / 1_000_000;
            }
            if (batchMs < 0 && !batches.poll(Duration.ofMillis(20)).isEmpty()) {
                batchMs = (System.nanoTime() - started) / 1_000_000;
            }
            if (!target.alive()) {
                throw new IllegalStateException(target.name() + " exited after its restart:\n" + target.logTail(40));
            }
        }
        RestartLog log = RestartLog.read(target.log(), startedAt);
        return new Restart(graceful ? "SIGTERM" : "SIGKILL", stopMs, readyMs, batchMs, log);
    }

    /** The instance that runs the shard: the one that last loaded its entries (the standby never does). */
    private ComponentProcess active(List<ComponentProcess> curators) throws IOException {
        ComponentProcess best = curators.get(0);
        long bestAt = -1;
        for (ComponentProcess c : curators) {
            List<String> lines = Files.readAllLines(c.log(), StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).contains("loaded and indexed")) {
                    long at = java.time.LocalTime.parse(lines.get(i).substring(0, 12)).toNanoOfDay();
                    if (at > bestAt) {
                        bestAt = at;
                        best = c;
                    }
                    break;
                }
            }
        }
        return best;
    }

    private void send(KafkaProducer<byte[], byte[]> producer, int count) {
        for (int i = 0; i < count; i++) {
            String id = "s" + sent++;
            int label = random.nextInt(10);
            byte[] pixels = new byte[784];
            random.nextBytes(pixels);
            Sample s = Sample.newBuilder().setId(id).setModelId("default")
                    .setFeatures(dtype.equals("float32") ? FeatureTensor.ofFloats(new int[] {784}, toFloats(pixels))
                            : FeatureTensor.ofBytes(new int[] {784}, pixels))
                    .setLabel(label).setSplit(Split.TRAIN).setSource("bench-restart").setEventTime(Instant.now()).build();
            producer.send(new ProducerRecord<>(topics.samples().name(), 0, id.getBytes(StandardCharsets.UTF_8),
                    topics.samples().serializeValue(s)));
        }
        producer.flush();
    }

    private static float[] toFloats(byte[] pixels) {
        float[] f = new float[pixels.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (pixels[i] & 0xff) / 255f;
        }
        return f;
    }

    private void awaitReady(ComponentProcess c) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!c.ready()) {
            if (!c.alive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(c.name() + " did not get ready:\n" + c.logTail(40));
            }
            Thread.sleep(50);
        }
    }

    /** Until the curator group has committed every sample sent and no batch came for {@link #QUIET}. */
    private void awaitCaughtUp(Admin admin, KafkaConsumer<byte[], byte[]> batches, List<ComponentProcess> curators)
            throws ExecutionException, InterruptedException {
        TopicPartition samples = new TopicPartition(topics.samples().name(), 0);
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (true) {
            for (ComponentProcess c : curators) {
                if (!c.alive()) {
                    throw new IllegalStateException(c.name() + " exited:\n" + c.logTail(40));
                }
            }
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(topics.prefix() + "-curator")
                    .partitionsToOffsetAndMetadata().get();
            OffsetAndMetadata c = committed.get(samples);
            if (c != null && c.offset() >= sent) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the curator did not catch up within " + DEADLINE + " (committed " + c
                        + " of " + sent + ")");
            }
            Thread.sleep(200);
        }
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < QUIET.toNanos()) {
            if (!batches.poll(Duration.ofMillis(200)).isEmpty()) {
                quietSince = System.nanoTime();
            }
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private KafkaConsumer<byte[], byte[]> batchReader(Map<String, Object> client) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        TopicPartition tp = new TopicPartition(topics.trainBatches().name(), 0);
        c.assign(List.of(tp));
        c.seekToEnd(List.of(tp));
        return c;
    }
}
