package io.rehearsal.bench.curator;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.LongFunction;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;

/**
 * How fast the curator ingests samples, next to how fast a plain Kafka producer writes records of the
 * same size to the same broker (a benchmark, not a test; {@code rehearsal bench perf} puts Kafka's own
 * {@code ProducerPerformance} next to it).
 *
 * <ol>
 *   <li>{@code samples} labeled samples (Avro single-object, 784 float32 or 784 uint8 features, 10
 *       classes, random values) are produced to a fresh samples topic of {@code partitions} partitions,
 *       sample i to partition i mod P, so every shard gets the same number of them.</li>
 *   <li>The curator ({@link CuratorApp}: exactly-once v2, RocksDB, changelogs) starts on that backlog
 *       with {@code streamThreads} stream threads. A {@code read_committed} reader (as the trainer
 *       reads) counts the committed batches. Without linger every TRAIN batch carries exactly
 *       ceil(rho_new * G) fresh samples, so counting batches counts samples.</li>
 *   <li>The rate is taken after a warm-up (the first {@code warmup} samples: JIT compilation of the
 *       broker, Streams and the curator dominates a cold JVM), from the batch that completes the
 *       warm-up to the last one. CPU seconds per role (stream threads, their producers, the in-process
 *       broker, JIT and GC) are taken over the same window, so a busy shared machine still shows where
 *       the curator's time goes.</li>
 * </ol>
 */
public final class CuratorBenchmark {
    private CuratorBenchmark() {
    }

    /** The feature encoding of the benchmark's samples. */
    public enum Encoding {
        FLOAT32, UINT8,
        /** A 3x224x224 uint8 photo (150,528 bytes of features): real-size inputs. */
        PHOTO;

        /** The encodings of 784-pixel Fashion-MNIST samples, compared with Kafka's producer. */
        public static final List<Encoding> SMALL = List.of(FLOAT32, UINT8);

        /** A lower-case name for tables, e.g. {@code float32}. */
        public String label() {
            return this == PHOTO ? "3x224x224 uint8" : name().toLowerCase(Locale.ROOT);
        }

        /** The input shape of a sample. */
        public List<Integer> shape() {
            return this == PHOTO ? List.of(3, 224, 224) : List.of(784);
        }
    }

    /**
     * What to run.
     *
     * @param encoding      784 float32 (3,136 bytes of features) or 784 uint8 (784 bytes)
     * @param samples       samples to ingest, rounded up to a multiple of partitions x fresh groups
     * @param warmup        of which this many are ingested before the clock starts
     * @param partitions    samples-topic partitions (curator shards)
     * @param streamThreads Kafka Streams threads of the curator
     * @param settings      the curator's settings (linger must be zero: full batches only)
     * @param streamsConfig extra Kafka Streams properties (commit interval, cache size, ...)
     * @param images        784 uint8 pixels of sample i (e.g. Fashion-MNIST; float32 samples get them / 255),
     *                      or null for random values (incompressible: the worst case for compression)
     */
    public record Options(Encoding encoding, int samples, int warmup, int partitions, int streamThreads,
                          CuratorSettings settings, Map<String, Object> streamsConfig, LongFunction<byte[]> images) {
        public Options {
            if (!settings.emission().linger().isZero()) {
                throw new IllegalArgumentException("the ingest benchmark counts full batches; use settings with linger 0");
            }
            if (warmup >= samples) {
                throw new IllegalArgumentException("warmup " + warmup + " must be below samples " + samples);
            }
            streamsConfig = Map.copyOf(streamsConfig);
            settings = settings.optInputPartitions(partitions);
        }

        /** The curator's defaults without linger, one partition and one thread. */
        public static Options defaults(Encoding encoding, int samples, int warmup) {
            return new Options(encoding, samples, warmup, 1, 1, defaultSettings(), Map.of(), null);
        }

        public Options withPartitions(int partitions, int streamThreads) {
            return new Options(encoding, samples, warmup, partitions, streamThreads, settings, streamsConfig, images);
        }

        public Options withStreamsConfig(Map<String, Object> config) {
            return new Options(encoding, samples, warmup, partitions, streamThreads, settings, config, images);
        }

        public Options withSettings(CuratorSettings s) {
            return new Options(encoding, samples, warmup, partitions, streamThreads, s.optLinger(Duration.ZERO), streamsConfig, images);
        }

        public Options withImages(LongFunction<byte[]> source) {
            return new Options(encoding, samples, warmup, partitions, streamThreads, settings, streamsConfig, source);
        }

        /** Samples the run produces: partitions x {@link #perShard()}. */
        public int perShardTotal() {
            return perShard() * partitions;
        }

        /** Samples per shard: a multiple of the fresh groups. */
        public int perShard() {
            int fresh = settings.freshGroups();
            int per = (samples + partitions - 1) / partitions;
            return (per + fresh - 1) / fresh * fresh;
        }
    }

    /**
     * What the curator did in the measured window.
     *
     * @param measured   samples ingested between the end of the warm-up and the last batch
     * @param time       that window
     * @param cpuSeconds CPU seconds per role over the window ({@link ThreadCpu#roles})
     * @param threadLoad Kafka Streams' own split of the stream threads' time (process, commit, poll, punctuate ratios)
     */
    public record Result(Options options, int recordBytes, long measured, Duration time, Map<String, Double> cpuSeconds,
                         Map<String, Double> threadLoad, Map<String, Long> topicBytes, String samplesTopic) {
        /** Bytes on the broker of the samples topic: what the curator read. */
        public long inputBytes() {
            return topicBytes.getOrDefault(samplesTopic, 0L);
        }

        /** Bytes on the broker of every other topic of the run: what the curator wrote (batches, features, changelogs...). */
        public long writtenBytes() {
            return topicBytes.entrySet().stream().filter(e -> !e.getKey().equals(samplesTopic)).mapToLong(Map.Entry::getValue).sum();
        }

        /** Bytes written to Kafka per byte read. */
        public double writeAmplification() {
            return writtenBytes() / (double) Math.max(1, inputBytes());
        }

        public double samplesPerSecond() {
            return measured / Math.max(1e-9, time.toNanos() / 1e9);
        }

        /** CPU microseconds per ingested sample spent by one role. */
        public double cpuMicrosPerSample(String role) {
            return cpuSeconds.getOrDefault(role, 0.0) * 1e6 / Math.max(1, measured);
        }

        /** One human-readable paragraph. */
        public String report() {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                    "curator, %s samples of %d bytes, %d partition(s), %d thread(s): %,.0f samples/s (%,d samples in %.2f s after %,d warm-up)%n",
                    options.encoding().label(), recordBytes, options.partitions(), options.streamThreads(), samplesPerSecond(),
                    measured, time.toNanos() / 1e9, options.warmup()));
            cpuSeconds.forEach((role, s) -> b.append(String.format(Locale.ROOT, "  cpu %-24s %6.1f us/sample%n", role,
                    cpuMicrosPerSample(role))));
            threadLoad.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  stream threads %-14s %.2f%n", k, v)));
            b.append(String.format(Locale.ROOT, "  bytes written to Kafka per input byte: %.2f (%,d written, %,d read)%n",
                    writeAmplification(), writtenBytes(), inputBytes()));
            topicBytes.forEach((t, n) -> b.append(String.format(Locale.ROOT, "    %-60s %,14d B%n", t, n)));
            return b.toString();
        }
    }

    /** The curator's defaults without linger (full batches only). */
    public static CuratorSettings defaultSettings() {
        return CuratorSettings.defaults().optContract(ModelContract.fashionMnist()).optLinger(Duration.ZERO);
    }

    /** Bytes of one encoded sample of this encoding (the record size a producer baseline must use). */
    public static int recordBytes(Encoding encoding) {
        return new Topics("size", 1).samples().serializeValue(sample(encoding, 10_000, new Random(1), null)).length;
    }

    /** Runs the curator on {@code options.samples()} samples against the cluster {@code clientProperties} reach. */
    public static Result run(Map<String, Object> clientProperties, Options options, Path stateDir) throws InterruptedException {
        int partitions = options.partitions();
        int perShard = options.perShard();
        int fresh = options.settings().freshGroups();
        long n = (long) perShard * partitions;
        Topics topics = new Topics("bench-" + UUID.randomUUID().toString().substring(0, 8), partitions);
        try (Admin admin = Admin.create(new HashMap<>(clientProperties))) {
            new TopicAdmin(admin).ensure(List.of(topics.samples(), topics.feedback(), topics.trainBatches(), topics.deadLetters()));
        }
        int recordBytes = produceSamples(clientProperties, topics, options, n);

        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, options.streamThreads());
        props.putAll(options.streamsConfig());
        long expected = n / fresh;
        long warmBatches = Math.max(1, Math.min(expected - 1, options.warmup() / fresh));
        try (CuratorApp app = new CuratorApp(options.settings(), topics, props, new SimpleMeterRegistry());
             KafkaConsumer<byte[], byte[]> batches = batchReader(clientProperties, topics)) {
            app.startAndAwaitRunning(Duration.ofMinutes(2));
            long count = 0;
            long t0 = 0;
            long t1 = 0;
            Map<String, Long> cpu0 = Map.of();
            long lastProgress = System.nanoTime();
            while (count < expected) {
                if (System.nanoTime() - lastProgress > Duration.ofMinutes(2).toNanos()) {
                    throw new IllegalStateException("the curator emitted " + count + " of " + expected
                            + " batches, then none for 2 minutes (state " + app.state() + ")");
                }
                int got = batches.poll(Duration.ofMillis(50)).count();
                if (got == 0) {
                    continue;
                }
                lastProgress = System.nanoTime();
                long before = count;
                count += got;
                if (before < warmBatches && count >= warmBatches) {
                    t0 = System.nanoTime();
                    cpu0 = ThreadCpu.roles();
                    warmBatches = count; // the window starts after the batches read so far
                }
                t1 = System.nanoTime();
            }
            Map<String, Long> cpu1 = ThreadCpu.roles();
            Map<String, Double> cpu = new TreeMap<>();
            for (Map.Entry<String, Long> e : cpu1.entrySet()) {
                cpu.put(e.getKey(), (e.getValue() - cpu0.getOrDefault(e.getKey(), 0L)) / 1e9);
            }
            Map<String, Long> bytes = topicBytes(clientProperties, topics.prefix());
            return new Result(options, recordBytes, (count - warmBatches) * fresh, Duration.ofNanos(t1 - t0), cpu,
                    threadLoad(app), bytes, topics.samples().name());
        }
    }

    /** Bytes on the brokers' disks of every topic whose name starts with {@code prefix}, by topic (all replicas). */
    static Map<String, Long> topicBytes(Map<String, Object> clientProperties, String prefix) {
        Map<String, Long> out = new TreeMap<>();
        try (Admin admin = Admin.create(new HashMap<>(clientProperties))) {
            List<Integer> brokers = admin.describeCluster().nodes().get().stream().map(org.apache.kafka.common.Node::id).toList();
            admin.describeLogDirs(brokers).allDescriptions().get().values().forEach(dirs -> dirs.values().forEach(dir ->
                    dir.replicaInfos().forEach((tp, replica) -> {
                        if (tp.topic().startsWith(prefix)) {
                            out.merge(tp.topic(), replica.size(), Long::sum);
                        }
                    })));
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot describe the brokers' log directories", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return out;
    }

    /**
     * A plain producer baseline in this JVM (acks=all, otherwise Kafka's defaults), timed from the first
     * send to the end of {@code flush()} after {@code warmup} records, as Kafka's {@code ProducerPerformance} does.
     *
     * @return records per second
     */
    public static double producerBaseline(Map<String, Object> clientProperties, int records, int warmup, int recordBytes)
            throws InterruptedException {
        String topic = "bench-producer-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(new HashMap<>(clientProperties))) {
            new TopicAdmin(admin).ensure(List.of(new Topic<>(topic, Serdes.ByteArray(), Serdes.ByteArray(), 1, Map.of())));
        }
        byte[] payload = new byte[recordBytes];
        new Random(1).nextBytes(payload);
        try (KafkaProducer<byte[], byte[]> producer = producer(clientProperties)) {
            send(producer, new ProducerRecord<>(topic, payload)); // see awaitWritable
            for (int i = 0; i < warmup; i++) {
                producer.send(new ProducerRecord<>(topic, payload));
            }
            producer.flush();
            long t0 = System.nanoTime();
            for (int i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, payload));
            }
            producer.flush();
            return records / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * Produces the samples, sample i to partition i mod P, each with an id whose canonical partition (the Java
     * client's murmur2, which the curator routes by) is that partition, so no sample takes the reroute topic
     * and every shard gets the same number of them; returns the size of one record.
     */
    private static int produceSamples(Map<String, Object> clientProperties, Topics topics, Options options, long n) {
        Random random = new Random(7);
        int size = 0;
        int partitions = options.partitions();
        List<java.util.Deque<String>> ids = canonicalIds(partitions, n / partitions);
        try (KafkaProducer<byte[], byte[]> producer = producer(clientProperties)) {
            for (long i = 0; i < n; i++) {
                int partition = (int) (i % partitions);
                String id = ids.get(partition).removeFirst();
                Sample s = sample(options.encoding(), i, random, options.images());
                s.setId(id);
                byte[] value = topics.samples().serializeValue(s);
                size = value.length;
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.samples().name(), partition,
                        id.getBytes(java.nio.charset.StandardCharsets.UTF_8), value);
                if (i < partitions) {
                    send(producer, r); // see awaitWritable
                } else {
                    producer.send(r);
                }
            }
            producer.flush();
        }
        return size;
    }

    /** {@code perPartition} sample ids for each partition whose murmur2 partition is that one ({@code b<k>}, k ascending). */
    private static List<java.util.Deque<String>> canonicalIds(int partitions, long perPartition) {
        List<java.util.Deque<String>> ids = new java.util.ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            ids.add(new java.util.ArrayDeque<>());
        }
        long filled = 0;
        for (long k = 0; filled < partitions; k++) {
            String id = "b" + k;
            int p = org.apache.kafka.common.utils.Utils.toPositive(
                    org.apache.kafka.common.utils.Utils.murmur2(id.getBytes(java.nio.charset.StandardCharsets.UTF_8))) % partitions;
            if (ids.get(p).size() < perPartition) {
                ids.get(p).add(id);
                filled += ids.get(p).size() == perPartition ? 1 : 0;
            }
        }
        return ids;
    }

    /**
     * Writes one record to each partition of a topic and waits for each. A new topic's partitions can
     * refuse the first writes (NOT_LEADER_OR_FOLLOWER) while the broker takes up leadership; an idempotent
     * producer that pipelines its first batches then may see a later batch accepted before the first
     * one's retry, and that retry fails with OutOfOrderSequenceException forever (seen with Kafka 4.4 on
     * the embedded broker). One record at a time per new partition avoids it.
     */
    public static void awaitWritable(Map<String, Object> clientProperties, String topic, int partitions) {
        try (KafkaProducer<byte[], byte[]> producer = producer(clientProperties)) {
            for (int p = 0; p < partitions; p++) {
                send(producer, new ProducerRecord<>(topic, p, null, new byte[0]));
            }
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> r) {
        try {
            producer.send(r).get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the benchmark cannot write to " + r.topic() + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to " + r.topic(), e);
        }
    }

    /** Labeled Fashion-MNIST-shaped sample {@code i} with random pixels. */
    static Sample sample(Encoding encoding, long i, Random r, LongFunction<byte[]> images) {
        byte[] image = images == null ? null : images.apply(i);
        Features features;
        if (encoding == Encoding.FLOAT32) {
            float[] pixels = new float[784];
            for (int p = 0; p < pixels.length; p++) {
                pixels[p] = image == null ? r.nextFloat() : (image[p] & 0xff) / 255f;
            }
            features = FeatureTensor.ofFloats(new int[] {784}, pixels);
        } else if (encoding == Encoding.PHOTO) {
            byte[] pixels = new byte[3 * 224 * 224];
            r.nextBytes(pixels);
            features = FeatureTensor.ofBytes(new int[] {3, 224, 224}, pixels);
        } else {
            byte[] pixels = new byte[784];
            if (image == null) {
                r.nextBytes(pixels);
            } else {
                System.arraycopy(image, 0, pixels, 0, 784);
            }
            features = FeatureTensor.ofBytes(new int[] {784}, pixels);
        }
        return Sample.newBuilder().setId("b" + i).setModelId("default").setFeatures(features).setLabel(r.nextInt(10))
                .setSplit(Split.TRAIN).setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + i)).build();
    }

    /** Averages of the stream threads' process / commit / poll / punctuate ratios (Kafka Streams' thread metrics). */
    private static Map<String, Double> threadLoad(CuratorApp app) {
        Map<String, double[]> sums = new TreeMap<>();
        app.kafkaMetrics().forEach((name, metric) -> {
            if (name.group().equals("stream-thread-metrics") && name.name().endsWith("-ratio")
                    && metric.metricValue() instanceof Double v && !v.isNaN()) {
                double[] s = sums.computeIfAbsent(name.name().replace("-ratio", ""), k -> new double[2]);
                s[0] += v;
                s[1]++;
            }
        });
        Map<String, Double> out = new TreeMap<>();
        sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
        return out;
    }

    /** Bytes of all files under {@code dir} (a state directory). */
    public static long directoryBytes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // deleted while walking (compaction)
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot measure " + dir, e);
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> clientProperties) {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> batchReader(Map<String, Object> clientProperties, Topics topics) {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, topics.prefix() + "-bench-reader");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        // the reader only counts records: keep its own cost small
        props.put(ConsumerConfig.CHECK_CRCS_CONFIG, false);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topics.trainBatches().name()));
        return c;
    }
}
