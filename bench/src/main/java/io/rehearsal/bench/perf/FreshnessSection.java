package io.rehearsal.bench.perf;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.bench.perf.PerfTable.Better;
import io.rehearsal.bench.perf.PerfTable.Row;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Freshness through the real pipeline: labeled samples are produced at a fixed rate to an embedded
 * broker, a {@link CuratorApp} and a {@link TrainerApp} run as in production, and a
 * {@link ModelSubscriber} follows the snapshots. A sample is fresh in the model once the subscriber
 * serves a snapshot whose provenance covers its offset ({@code Provenance.sampleOffsets} of its samples
 * partition); the time from its send to that moment is recorded (HdrHistogram), after a warm-up.
 */
final class FreshnessSection {
    private static final String MODEL = "fresh";
    /**
     * What to run.
     *
     * @param snapshotSteps  the trainer publishes after this many steps ...
     * @param snapshotEvery  ... or this much time, whichever first
     */
    record Config(List<Integer> rates, Duration duration, Duration warmup, Duration drain, CuratorSettings curator,
                  Map<String, Object> streamsConfig, long snapshotSteps, Duration snapshotEvery, int threads,
                  LongFunction<byte[]> images, List<Overload> overload) {
    }

    /**
     * An overload policy, measured at the highest rate.
     *
     * @param freshOnlyLag  the curator's {@code --fresh-only-lag} (fresh-only batches while behind); zero: off
     * @param recallShedAge the trainer's {@code --recall-shed-age} (fresh first); zero: off
     * @param maxBatchAge   the trainer's {@code --max-batch-age} (shed whole); zero: off
     */
    record Overload(Duration freshOnlyLag, Duration recallShedAge, Duration maxBatchAge) {
        static final Overload NONE = new Overload(Duration.ZERO, Duration.ZERO, Duration.ZERO);

        String options() {
            List<String> parts = new java.util.ArrayList<>();
            if (!freshOnlyLag.isZero()) {
                parts.add("curator --fresh-only-lag " + freshOnlyLag);
            }
            List<String> trainer = new java.util.ArrayList<>();
            if (!recallShedAge.isZero()) {
                trainer.add("--recall-shed-age " + recallShedAge);
            }
            if (!maxBatchAge.isZero()) {
                trainer.add("--max-batch-age " + maxBatchAge);
            }
            if (!trainer.isEmpty()) {
                parts.add("trainer " + String.join(" ", trainer));
            }
            return String.join(", ", parts);
        }
    }

    /** What one rate gave. */
    record Result(int rate, Histogram latency, long produced, long measured, long uncovered, double trainedPerSecond,
                  long snapshots, long freshShed, long recallsShed, long packedBatches, long freshOnlyBatches, double batchAgeP50Ms,
                  double sampleToSnapshotP50Ms) {
        /** Where the time goes: the trainer's queue and a sample's way to a published snapshot (medians, whole run). */
        String breakdown() {
            return String.format(Locale.ROOT, "median batch age when the trainer read it %s ms, median sample to published "
                    + "snapshot %s ms (bucket bounds)", (long) batchAgeP50Ms, (long) sampleToSnapshotP50Ms);
        }
    }

    private FreshnessSection() {
    }

    static void run(Config config, Map<String, Object> client, PerfTable table, PrintStream out, Path work) throws Exception {
        for (int rate : config.rates()) {
            Result r = measure(config, rate, client, work, Overload.NONE);
            Histogram h = r.latency();
            boolean any = h.getTotalCount() > 0;
            out.printf(Locale.ROOT, "  freshness at %,d samples/s: p50 %s, p99 %s, max %s; %,d produced, %,d measured, "
                            + "%,d not covered after the drain; trainer %,.0f samples/s; %d snapshots; %s%n", rate,
                    any ? ms(h.getValueAtPercentile(50)) : "-", any ? ms(h.getValueAtPercentile(99)) : "-",
                    any ? ms(h.getMaxValue()) : "-", r.produced(), r.measured(), r.uncovered(), r.trainedPerSecond(),
                    r.snapshots(), r.breakdown());
            String note = String.format(Locale.ROOT, "%,d samples measured after %s warm-up, %,d not covered %s after the end; "
                            + "trainer %,.0f fresh samples/s; %d snapshots", r.measured(), config.warmup(), r.uncovered(),
                    config.drain(), r.trainedPerSecond(), r.snapshots());
            double target50 = rate == 1000 ? 1000 : Double.NaN;
            double target99 = rate == 1000 ? 3000 : Double.NaN;
            table.add(new Row("freshness", String.format(Locale.ROOT, "p50 at %,d samples/s", rate), "ms",
                    any ? h.getValueAtPercentile(50) / 1000.0 : Double.NaN, target50, rate == 1000 ? "target" : "-", Better.LOWER, note));
            table.add(new Row("freshness", String.format(Locale.ROOT, "p99 at %,d samples/s", rate), "ms",
                    any ? h.getValueAtPercentile(99) / 1000.0 : Double.NaN, target99, rate == 1000 ? "target" : "-", Better.LOWER, ""));
        }
        // the highest rate again with each overload policy on: fresh first (late batches trained on their fresh items
        // only, packed) and shed whole (batches past the maximum age not trained)
        int top = config.rates().stream().mapToInt(Integer::intValue).max().orElse(0);
        for (Overload policy : top > 0 ? config.overload() : List.<Overload>of()) {
            Result r = measure(config, top, client, work, policy);
            Histogram h = r.latency();
            boolean any = h.getTotalCount() > 0;
            double share = r.freshShed() / (double) Math.max(1, r.produced());
            out.printf(Locale.ROOT, "  freshness at %,d samples/s, overload policy (%s): p50 %s, p99 %s; "
                            + "%,d produced, %,d fresh samples shed (%.0f%%), %,d batches trained fresh first (%,d recalls "
                            + "shed), %,d fresh-only batches from the curator, %,d not covered after the drain; trainer %,.0f steps/s; %s%n", top,
                    policy.options(), any ? ms(h.getValueAtPercentile(50)) : "-", any ? ms(h.getValueAtPercentile(99)) : "-",
                    r.produced(), r.freshShed(), 100 * share, r.packedBatches(), r.recallsShed(), r.freshOnlyBatches(), r.uncovered(),
                    r.trainedPerSecond() / config.curator().freshGroups(), r.breakdown());
            String note = String.format(Locale.ROOT, "%s: %.0f%% of fresh samples shed (their fresh visit skipped; "
                            + "they stay in the curator's buffer), %,d late batches trained on their fresh items only (%,d "
                            + "recalls shed), %,d fresh-only batches from the curator; %,d samples measured, %,d not covered %s after the end",
                    policy.options(), 100 * share, r.packedBatches(), r.recallsShed(), r.freshOnlyBatches(), r.measured(),
                    r.uncovered(), config.drain());
            table.add(new Row("freshness", String.format(Locale.ROOT, "p50 at %,d samples/s, %s", top, policy.options()), "ms",
                    any ? h.getValueAtPercentile(50) / 1000.0 : Double.NaN, 3000, "target (p99)", Better.LOWER, note));
            table.add(new Row("freshness", String.format(Locale.ROOT, "p99 at %,d samples/s, %s", top, policy.options()), "ms",
                    any ? h.getValueAtPercentile(99) / 1000.0 : Double.NaN, 3000, "target", Better.LOWER, ""));
        }
    }

    private static String ms(long micros) {
        return String.format(Locale.ROOT, "%.0f ms", micros / 1000.0);
    }

    static Result measure(Config config, int rate, Map<String, Object> client, Path work, Overload policy) throws Exception {
        String model = "fresh";
        Topics topics = new Topics("fresh-" + rate + "-" + UUID.randomUUID().toString().substring(0, 6), 1);
        try (Admin admin = Admin.create(new HashMap<>(client))) {
            new TopicAdmin(admin).ensure(topics.all());
        }
        Map<String, Object> streams = new HashMap<>(client);
        streams.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory(work, "fresh-state-").toString());
        streams.putAll(config.streamsConfig());
        TrainerSettings trainerSettings = TrainerSettings.builder(model, io.rehearsal.bench.trainer.TrainerBench.spec("mlp"))
                .optThreads(config.threads(), 1).optSnapshotEvery(config.snapshotSteps(), config.snapshotEvery())
                .optRecallShedAge(policy.recallShedAge()).optMaxBatchAge(policy.maxBatchAge()).build();
        String bootstrap = (String) client.get("bootstrap.servers");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Histogram latency = new Histogram(3_600_000_000L, 3);
        ArrayDeque<long[]> pending = new ArrayDeque<>(); // {offset, send nanos}, in offset order (one partition)
        AtomicLong measured = new AtomicLong();
        AtomicLong snapshots = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long warmupEnd = System.nanoTime() + config.warmup().toNanos();
        try (CuratorApp curator = new CuratorApp(config.curator().optInputPartitions(1).optModelIds(MODEL)
                .optFreshOnlyLag(policy.freshOnlyLag()), topics, streams, registry);
             TrainerApp trainer = new TrainerApp(trainerSettings, topics, bootstrap, Map.of(), registry)) {
            curator.startAndAwaitRunning(Duration.ofMinutes(2));
            Thread trainerThread = new Thread(() -> {
                try {
                    trainer.run();
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            }, "freshness-trainer");
            trainerThread.start();
            try (ModelSubscriber subscriber = ModelSubscriber.start(SubscriberSettings.builder(model).optFollow(Follow.LATEST)
                            .optStartTimeout(Duration.ofSeconds(1)).build(), topics, bootstrap, Map.of(), registry);
                 KafkaProducer<byte[], byte[]> producer = producer(client)) {
                subscriber.addListener((previous, current) -> {
                    snapshots.incrementAndGet();
                    long covered = covered(current);
                    long now = System.nanoTime();
                    synchronized (pending) {
                        while (!pending.isEmpty() && pending.peekFirst()[0] <= covered) {
                            long sent = pending.pollFirst()[1];
                            if (sent >= warmupEnd) {
                                latency.recordValue(Math.max(1, (now - sent) / 1000));
                                measured.incrementAndGet();
                            }
                        }
                    }
                });
                long produced = produce(producer, topics, rate, config.warmup().plus(config.duration()), pending, config.images(), failure);
                long stepsAtEnd = trainer.trainer().step();
                long endNanos = System.nanoTime();
                long drainDeadline = endNanos + config.drain().toNanos();
                while (System.nanoTime() < drainDeadline) {
                    synchronized (pending) {
                        if (pending.isEmpty()) {
                            break;
                        }
                    }
                    if (failure.get() != null) {
                        throw new IllegalStateException("the trainer failed", failure.get());
                    }
                    Thread.sleep(50);
                }
                long uncovered;
                synchronized (pending) {
                    uncovered = pending.size();
                }
                double seconds = config.warmup().plus(config.duration()).toNanos() / 1e9;
                // fresh samples trained per second while producing: every full batch carries F fresh samples
                double trainedPerSecond = stepsAtEnd * (double) config.curator().freshGroups() / seconds;
                trainer.stop();
                trainerThread.join(60_000);
                return new Result(rate, latency.copy(), produced, measured.get(), uncovered, trainedPerSecond, snapshots.get(),
                        (long) count(registry, "rehearsal.trainer.items.shed", "fresh"),
                        (long) count(registry, "rehearsal.trainer.items.shed", "recall"),
                        (long) count(registry, "rehearsal.trainer.batches.packed", null),
                        (long) count(registry, "rehearsal.curator.overload.batches", null),
                        median(registry, "rehearsal.trainer.batch.age"), median(registry, "rehearsal.trainer.sample.to.snapshot"));
            } finally {
                trainer.stop();
                trainerThread.join(60_000);
            }
        }
    }

    /** The upper bound of the histogram bucket holding a timer's median, in ms; NaN if it recorded nothing. */
    private static double median(SimpleMeterRegistry registry, String name) {
        io.micrometer.core.instrument.Timer timer = registry.find(name).timer();
        if (timer == null || timer.count() == 0) {
            return Double.NaN;
        }
        io.micrometer.core.instrument.distribution.HistogramSnapshot h = timer.takeSnapshot();
        for (io.micrometer.core.instrument.distribution.CountAtBucket b : h.histogramCounts()) {
            if (b.count() >= h.count() / 2.0) {
                return b.bucket(java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }
        return h.max(java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private static double count(SimpleMeterRegistry registry, String name, String role) {
        var search = registry.find(name);
        if (role != null) {
            search = search.tag("role", role);
        }
        return search.counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    private static long covered(ModelInfo info) {
        long covered = -1;
        for (TopicPartitionOffset o : info.provenance().getSampleOffsets()) {
            if (o.getPartition() == 0) {
                covered = Math.max(covered, o.getOffset());
            }
        }
        return covered;
    }

    /** Sends labeled samples at {@code rate} per second for {@code duration}; returns how many. */
    private static long produce(KafkaProducer<byte[], byte[]> producer, Topics topics, int rate, Duration duration,
                                ArrayDeque<long[]> pending, LongFunction<byte[]> images, AtomicReference<Throwable> failure)
            throws InterruptedException {
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        long n = 0;
        java.util.Random random = new java.util.Random(3);
        byte[] pixels = new byte[784];
        while (true) {
            long now = System.nanoTime();
            if (now >= end || failure.get() != null) {
                break;
            }
            long due = start + (long) (n * 1e9 / rate);
            if (due > now) {
                long sleep = due - now;
                Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                continue;
            }
            if (images != null) {
                System.arraycopy(images.apply(n), 0, pixels, 0, 784);
            } else {
                random.nextBytes(pixels);
            }
            Sample s = Sample.newBuilder().setId("f" + n).setModelId(MODEL)
                    .setFeatures(FeatureTensor.ofBytes(new int[] {784}, pixels)).setLabel((int) (n % 10))
                    .setSplit(Split.TRAIN).setEventTime(Instant.now()).build();
            long sent = System.nanoTime();
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topics.samples().name(), 0, ("f" + n).getBytes(),
                    topics.samples().serializeValue(s));
            if (n == 0) {
                try { // the first write to a new partition alone (see CuratorBenchmark.awaitWritable)
                    long offset = producer.send(record).get().offset();
                    synchronized (pending) {
                        pending.addLast(new long[] {offset, sent});
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("cannot write to " + record.topic() + ": " + e.getCause(), e.getCause());
                }
                n++;
                continue;
            }
            producer.send(record,
                    (metadata, e) -> {
                        if (e == null) {
                            synchronized (pending) {
                                pending.addLast(new long[] {metadata.offset(), sent});
                            }
                        }
                    });
            n++;
        }
        producer.flush();
        return n;
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }
}
