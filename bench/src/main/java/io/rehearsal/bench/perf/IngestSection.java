package io.rehearsal.bench.perf;

import io.rehearsal.bench.perf.PerfTable.Better;
import io.rehearsal.bench.perf.PerfTable.Row;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.bench.curator.CuratorBenchmark;
import io.rehearsal.bench.curator.CuratorBenchmark.Encoding;
import io.rehearsal.bench.curator.CuratorBenchmark.Options;
import io.rehearsal.bench.curator.ThreadCpu;
import io.rehearsal.streams.ModelContract;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Ingest: samples/s the curator sustains against Kafka's own {@code ProducerPerformance} writing
 * records of the same size to the same broker (a child JVM, acks=all, otherwise its defaults), one after
 * the other, round by round; then the curator with 1, 2 and 4 partitions and stream threads, and the
 * RocksDB bytes each buffered sample costs.
 */
final class IngestSection {
    /** What to run. */
    record Config(int samples, int warmup, int rounds, List<Integer> scale, int footprintSamples,
                  LongFunction<byte[]> images, String dataName) {
    }

    private static final Pattern RESULT = Pattern.compile("([\\d.]+) (?:steady state )?records sent, ([\\d.]+) records/sec");

    private IngestSection() {
    }

    static void run(Config config, Map<String, Object> client, PerfTable table, PrintStream out, Path work)
            throws IOException, InterruptedException {
        // warm the curator's code (JIT) in this JVM first: a long-running curator is warm
        curator(out, client, options(config, Encoding.FLOAT32, Math.max(2000, config.warmup() * 2), config.warmup()),
                Files.createTempDirectory(work, "curator-"));
        Map<Encoding, Integer> sizes = new HashMap<>();
        Map<Encoding, CuratorBenchmark.Result> amplification = new java.util.EnumMap<>(Encoding.class);
        for (Encoding e : Encoding.SMALL) {
            List<Double> producer = new ArrayList<>();
            List<CuratorBenchmark.Result> curator = new ArrayList<>();
            int bytes = CuratorBenchmark.recordBytes(e);
            sizes.put(e, bytes);
            for (int round = 0; round < config.rounds(); round++) {
                producer.add(producerPerformance(client, config.samples(), config.warmup(), bytes, work));
                curator.add(curator(out, client, options(config, e, config.samples(), config.warmup()),
                        Files.createTempDirectory(work, "curator-")));
                out.printf(Locale.ROOT, "  ingest %s round %d: ProducerPerformance %,.0f records/s, curator %,.0f samples/s%n",
                        e.label(), round + 1, producer.get(round), curator.get(round).samplesPerSecond());
            }
            CuratorBenchmark.Result median = curator.stream()
                    .sorted(java.util.Comparator.comparingDouble(CuratorBenchmark.Result::samplesPerSecond))
                    .toList().get(curator.size() / 2);
            amplification.put(e, median);
            table.add(new Row("ingest", String.format(Locale.ROOT, "curator, 784 %s samples (%,d B records)", e.label(), bytes),
                    "samples/s", median.samplesPerSecond(), median(producer), "Kafka ProducerPerformance, same record size",
                    Better.HIGHER, String.format(Locale.ROOT, "median of %d round(s), %,d records after %,d warm-up; %s; CPU per sample: "
                            + "stream thread %.0f us, its producer I/O %.0f us, broker %.0f us, JIT+GC %.0f us; stream thread "
                            + "process %.0f%% commit %.0f%% poll %.0f%%", config.rounds(), config.samples() - config.warmup(),
                            config.warmup(), config.dataName(), median.cpuMicrosPerSample(ThreadCpu.STREAM_THREADS),
                            median.cpuMicrosPerSample(ThreadCpu.CURATOR_PRODUCER), median.cpuMicrosPerSample(ThreadCpu.BROKER),
                            median.cpuMicrosPerSample(ThreadCpu.JVM), 100 * median.threadLoad().getOrDefault("process", 0.0),
                            100 * median.threadLoad().getOrDefault("commit", 0.0), 100 * median.threadLoad().getOrDefault("poll", 0.0))));
        }
        for (Encoding e : Encoding.SMALL) {
            CuratorBenchmark.Result r = amplification.get(e);
            out.printf(Locale.ROOT, "  %s: %,d bytes written to Kafka for %,d read%n", e.label(), r.writtenBytes(), r.inputBytes());
            r.topicBytes().forEach((t, n) -> out.printf(Locale.ROOT, "    %-60s %,14d B%n", t, n));
            table.add(new Row("ingest", String.format(Locale.ROOT, "bytes written to Kafka per input byte, 784 %s samples", e.label()),
                    "B/B", r.writeAmplification(), 2.0, "the target (was about 9 with features in every batch item)", Better.LOWER,
                    "every topic of the run but the samples topic (batches, features, changelogs, dead letters) over the samples "
                            + "topic, bytes on the broker's disk after the median round"));
        }
        photos(config, client, table, out, work);
        double single = Double.NaN;
        for (int k : config.scale()) {
            CuratorBenchmark.Result r = curator(out, client,
                    options(config, Encoding.UINT8, config.samples(), config.warmup()).withPartitions(k, k),
                    Files.createTempDirectory(work, "curator-"));
            single = k == 1 ? r.samplesPerSecond() : single;
            out.printf(Locale.ROOT, "  ingest scale %d partition(s)/thread(s): %,.0f samples/s%n", k, r.samplesPerSecond());
            table.add(new Row("scale", String.format(Locale.ROOT, "curator, %d partition(s) and stream thread(s), uint8", k),
                    "samples/s", r.samplesPerSecond(), single, "the same curator with 1 partition and thread", Better.HIGHER,
                    String.format(Locale.ROOT, "one run each, %d CPU core(s) shared with the broker", Runtime.getRuntime().availableProcessors())));
        }
        for (Encoding e : Encoding.SMALL) {
            int n = config.footprintSamples();
            Path state = Files.createTempDirectory(work, "footprint-");
            Options o = options(config, e, n, Math.min(config.warmup(), n / 4))
                    .withSettings(CuratorBenchmark.defaultSettings().optShortTermCapacity(n));
            curator(out, client, o, state);
            long bytes = CuratorBenchmark.directoryBytes(state);
            double perSample = bytes / (double) o.perShardTotal();
            out.printf(Locale.ROOT, "  state of %,d buffered %s samples: %,.1f MB, %,.0f B/sample%n", o.perShardTotal(), e.label(),
                    bytes / 1e6, perSample);
            table.add(new Row("memory", String.format(Locale.ROOT, "RocksDB bytes per buffered %s sample (%,d buffered)", e.label(),
                    o.perShardTotal()), "B", perSample, sizes.get(e), "the sample's own record size", Better.LOWER,
                    "state directory after a clean close (SST files, no compression); ratio = record size / stored bytes"));
        }
    }

    /** Real-size inputs: 3x224x224 uint8 photos through the curator, their features written once. */
    private static void photos(Config config, Map<String, Object> client, PerfTable table, PrintStream out, Path work)
            throws InterruptedException, IOException {
        int n = Math.max(200, config.samples() / 40);
        Options o = Options.defaults(Encoding.PHOTO, n, n / 4).withSettings(CuratorBenchmark.defaultSettings()
                .optContract(new ModelContract(Encoding.PHOTO.shape(), 10)));
        CuratorBenchmark.Result r = curator(out, client, o, Files.createTempDirectory(work, "curator-"));
        out.printf(Locale.ROOT, "  ingest %s: %,.0f samples/s (%,.1f MB/s of features), %.2f bytes written per byte read%n",
                Encoding.PHOTO.label(), r.samplesPerSecond(), r.samplesPerSecond() * 150_528 / 1e6, r.writeAmplification());
        table.add(new Row("ingest", String.format(Locale.ROOT, "curator, %s samples (%,d B records)", Encoding.PHOTO.label(),
                r.recordBytes()), "samples/s", r.samplesPerSecond(), Double.NaN, "", Better.HIGHER, String.format(Locale.ROOT,
                "%,d samples after %,d warm-up, no error; %.2f bytes written to Kafka per byte read; before features travelled "
                        + "once, batches of such samples were cut to fit the 8 MiB batch topic", n - n / 4, n / 4,
                r.writeAmplification())));
    }

    /**
     * One curator run, tried a second time on fresh topics if the first stalls: on a fresh embedded broker
     * an exactly-once producer's first writes to a just-created changelog partition can fail with
     * OutOfOrderSequenceException (Kafka 4.4, transactions v2), which can leave the run without progress.
     */
    private static CuratorBenchmark.Result curator(PrintStream out, Map<String, Object> client, Options o, Path state)
            throws InterruptedException {
        try {
            return CuratorBenchmark.run(client, o, state);
        } catch (IllegalStateException e) {
            out.println("  curator run stalled (" + e.getMessage() + "); running it again on new topics");
            return CuratorBenchmark.run(client, o, state.resolveSibling(state.getFileName() + "-again"));
        }
    }

    private static Options options(Config config, Encoding e, int samples, int warmup) {
        return Options.defaults(e, samples, warmup).withImages(config.images());
    }

    static double median(List<Double> values) {
        List<Double> v = values.stream().sorted().toList();
        return v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
    }

    /**
     * Runs Kafka's {@code org.apache.kafka.tools.ProducerPerformance} in a child JVM (acks=all, otherwise
     * its defaults) and returns its steady-state records/s.
     */
    static double producerPerformance(Map<String, Object> client, int records, int warmup, int recordBytes, Path work)
            throws IOException, InterruptedException {
        String topic = "perf-producer-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(new HashMap<>(client))) {
            new TopicAdmin(admin).ensure(List.of(new Topic<>(topic, Serdes.ByteArray(), Serdes.ByteArray(), 1, Map.of())));
        }
        CuratorBenchmark.awaitWritable(client, topic, 1);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), "org.apache.kafka.tools.ProducerPerformance",
                "--bootstrap-server", (String) client.get("bootstrap.servers"), "--topic", topic,
                "--num-records", Integer.toString(records), "--record-size", Integer.toString(recordBytes),
                "--throughput", "-1", "--warmup-records", Integer.toString(warmup), "--command-property", "acks=all"));
        client.forEach((k, v) -> {
            if (!k.equals("bootstrap.servers")) {
                cmd.add("--command-property");
                cmd.add(k + "=" + v);
            }
        });
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("ProducerPerformance failed: " + output);
        }
        Files.writeString(work.resolve("producer-performance.log"), output, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        // with --warmup-records a "steady state" summary follows the whole run's
        double rate = Double.NaN;
        for (String line : output.split("\n")) {
            Matcher m = RESULT.matcher(line);
            if (m.find() && (Double.isNaN(rate) || line.contains("steady state"))) {
                rate = Double.parseDouble(m.group(2));
            }
        }
        if (Double.isNaN(rate)) {
            throw new IOException("cannot read ProducerPerformance's result from: " + output);
        }
        return rate;
    }
}
