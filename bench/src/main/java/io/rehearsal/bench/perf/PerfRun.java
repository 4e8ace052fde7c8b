package io.rehearsal.bench.perf;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.models.snapshot.BuildInfo;
import io.rehearsal.models.runtime.MklShim;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * {@code rehearsal bench perf}: runs the sections in order against one broker, prints each figure as it
 * comes and the whole table at the end, and writes {@code bench-perf.md} (table, machine, load, date,
 * commit) to the output directory.
 */
public final class PerfRun {
    /**
     * The overload policies measured at the highest freshness rate: fresh first (the curator composes fresh-only
     * batches while behind its input; the trainer trains late batches' fresh items only, packed, and sheds whole past
     * the maximum age), and the trainer shedding whole alone.
     */
    static final List<FreshnessSection.Overload> OVERLOAD_POLICIES = List.of(
            new FreshnessSection.Overload(Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(2)),
            new FreshnessSection.Overload(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1)));

    /** Every knob of a run (see {@code BenchPerfCommand} for their meaning and defaults). */
    public record Settings(boolean quick, List<String> sections, String bootstrapServers, Path python, Path openblas,
                           int rounds, int trainerSteps, int threads, int ingestSamples, int footprintSamples,
                           List<Integer> rates, Duration duration, int memorySteps, Path data, Path out, Knobs knobs,
                           Path torchscript) {
    }

    /** Freshness knobs that override the components' defaults (null: the default). */
    public record Knobs(Long snapshotSteps, Duration snapshotEvery, Duration commitInterval, Duration linger) {
    }

    private final Settings settings;
    private final PrintStream out;
    private final PerfTable table = new PerfTable();
    private final List<String> loads = new ArrayList<>();

    public PerfRun(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    /** $OPENBLAS_LIB, else Debian's openblas-pthread directory if it exists, else null. */
    public static Path defaultOpenBlas() {
        String env = System.getenv("OPENBLAS_LIB");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        Path debian = Path.of("/usr/lib/x86_64-linux-gnu/openblas-pthread");
        return Files.isRegularFile(debian.resolve("libblas.so.3")) ? debian : null;
    }

    public PerfTable table() {
        return table;
    }

    /** Runs the sections; returns the exit code (0). */
    public int run() throws Exception {
        Instant started = Instant.now();
        Files.createDirectories(settings.out());
        Path work = Files.createTempDirectory("rehearsal-bench-perf-");
        out.printf(Locale.ROOT, "rehearsal bench perf%s: %s%n", settings.quick() ? " --quick" : "", machine());
        FashionMnist.Data data = settings.sections().contains("ingest") || settings.sections().contains("freshness")
                ? FashionMnist.load(settings.data()) : null;
        LongFunction<byte[]> images = data == null ? null : i -> data.train().images()[(int) (i % data.train().size())];
        String dataName = data == null ? "" : "Fashion-MNIST pixels (" + data.source() + ")";
        if (settings.sections().contains("trainer")) {
            section("trainer");
            TrainerSection.run(new TrainerSection.Config(List.of("mlp", "cnn"), List.of(64, 256),
                    settings.quick() ? List.of(64) : List.of(64, 256), List.of(1, 4), settings.trainerSteps(), settings.rounds(), settings.threads(),
                    settings.python(), settings.openblas(), settings.torchscript()), table, out, work);
        }
        boolean needsBroker = settings.sections().stream().anyMatch(s -> s.equals("ingest") || s.equals("freshness"));
        EmbeddedKafkaBroker broker = null;
        try {
            String bootstrap = settings.bootstrapServers();
            if (needsBroker && bootstrap == null) {
                broker = EmbeddedKafkaBroker.builder().build().start();
                bootstrap = broker.bootstrapServers();
            }
            Map<String, Object> client = bootstrap == null ? Map.of() : Map.of("bootstrap.servers", bootstrap);
            if (settings.sections().contains("ingest")) {
                section("ingest");
                int samples = settings.ingestSamples();
                IngestSection.run(new IngestSection.Config(samples, samples / 4, settings.rounds(),
                        settings.quick() ? List.of(1, 2) : List.of(1, 2, 4), settings.footprintSamples(), images, dataName),
                        client, table, out, work);
            }
            if (settings.sections().contains("freshness")) {
                section("freshness");
                io.rehearsal.models.train.TrainerSettings trainerDefaults = io.rehearsal.models.train.TrainerSettings
                        .builder("defaults", io.rehearsal.bench.trainer.TrainerBench.spec("mlp")).build();
                Knobs k = settings.knobs();
                io.rehearsal.streams.CuratorSettings curator = k.linger() == null ? io.rehearsal.streams.CuratorSettings.defaults()
                        : io.rehearsal.streams.CuratorSettings.defaults().optLinger(k.linger());
                Map<String, Object> streams = k.commitInterval() == null ? Map.of()
                        : Map.of("commit.interval.ms", Long.toString(k.commitInterval().toMillis()));
                out.printf(Locale.ROOT, "  snapshot every %s steps or %s; curator linger %s, commit interval %s%n",
                        k.snapshotSteps() != null ? k.snapshotSteps() : trainerDefaults.snapshotEverySteps(),
                        k.snapshotEvery() != null ? k.snapshotEvery() : trainerDefaults.snapshotEvery(), curator.emission().linger(),
                        k.commitInterval() != null ? k.commitInterval() : "default");
                FreshnessSection.run(new FreshnessSection.Config(settings.rates(), settings.duration(),
                        settings.quick() ? Duration.ofSeconds(4) : Duration.ofSeconds(10),
                        settings.quick() ? Duration.ofSeconds(10) : Duration.ofSeconds(30),
                        curator, streams, k.snapshotSteps() != null ? k.snapshotSteps() : trainerDefaults.snapshotEverySteps(),
                        k.snapshotEvery() != null ? k.snapshotEvery() : trainerDefaults.snapshotEvery(), settings.threads(), images,
                        settings.quick() ? OVERLOAD_POLICIES.subList(0, 1) : OVERLOAD_POLICIES), client, table, out, work);
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
        if (settings.sections().contains("memory")) {
            section("memory");
            MemorySection.run(settings.memorySteps(), table, out, work);
        }
        loads.add("end: " + load());
        String markdown = report(started);
        Files.writeString(settings.out().resolve("bench-perf.md"), markdown, StandardCharsets.UTF_8);
        out.println();
        out.println(table.markdown());
        out.println("report: " + settings.out().resolve("bench-perf.md") + "; logs of the child processes in " + work);
        return 0;
    }

    private void section(String name) {
        String l = load();
        loads.add(name + ": " + l);
        out.printf(Locale.ROOT, "== %s (%s)%n", name, l);
    }

    private String report(Instant started) {
        StringBuilder b = new StringBuilder();
        b.append("# rehearsal bench perf").append(settings.quick() ? " --quick" : "").append("\n\n");
        b.append("- date: ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ")
                .append(Duration.between(started, Instant.now()).toSeconds()).append(" s\n");
        b.append("- commit: ").append(BuildInfo.gitSha()).append(" (rehearsal ").append(BuildInfo.projectVersion()).append(")\n");
        b.append("- machine: ").append(machine()).append("\n");
        b.append("- load average (1/5/15 min) at the start of each section: ").append(String.join("; ", loads)).append("\n");
        b.append("- MKL shim: ").append(MklShim.active() ? "preloaded" : MklShim.amdCpu() ? "not preloaded in this JVM" : "not needed")
                .append("; trainer children and PyTorch peer: ").append(NativeEnv.describe()).append("\n\n");
        b.append(table.markdown());
        return b.toString();
    }

    static String load() {
        try {
            String[] w = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return w[0] + " " + w[1] + " " + w[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // keep unknown
        }
        long memory = 0;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            memory = os.getTotalMemorySize() >> 30;
        }
        return String.format(Locale.ROOT, "%s, %d cores, %d GiB, %s %s, Java %s, load %s", cpu,
                Runtime.getRuntime().availableProcessors(), memory, System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version"), load());
    }
}
