package io.rehearsal.bench;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.restart.RestartRun;
import io.rehearsal.bench.restart.RestartVariant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal bench restart}: a curator's restart time after SIGKILL, per Kafka Streams setting. */
@Command(name = "restart", mixinStandardHelpOptions = true,
        description = {"Fill a curator's default buffer (20,000 short-term + 2,000 long-term samples of 784 features) on an",
                "in-process broker, then SIGKILL `rehearsal curator` and start it again at once (and finally stop it with",
                "SIGTERM and start it again), under each variant: today's settings, transactional state stores (KIP-892),",
                "static membership, both, and a standby replica on a second instance. Prints, per restart, when /ready",
                "answered and when the first new batch was committed, with the restore and index-rebuild times from the",
                "curator's log. Writes restart.md."})
public final class BenchRestartCommand implements Callable<Integer> {
    @Option(names = "--variants", split = ",", defaultValue = "plain,txn,static,static+txn,standby,default",
            description = "Variants to run, of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = VariantNames.class)
    List<String> variants;
    @Option(names = "--samples", defaultValue = "24000", description = "Samples sent before the first kill (default: ${DEFAULT-VALUE}).")
    int samples;
    @Option(names = "--dtype", defaultValue = "uint8", description = "Feature type: uint8 or float32 (default: ${DEFAULT-VALUE}).")
    String dtype;
    @Option(names = "--kills", defaultValue = "2", description = "SIGKILL restarts per variant, before the SIGTERM one (default: ${DEFAULT-VALUE}).")
    int kills;
    @Option(names = "--kafka-property", description = "A Kafka Streams property added to every variant, e.g. session.timeout.ms=6000 (repeatable).")
    Map<String, String> extra = new LinkedHashMap<>();
    @Option(names = "--out", defaultValue = "reports/bench-restart", description = "Report and logs directory (default: ${DEFAULT-VALUE}).")
    Path out;

    static final class VariantNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        VariantNames() {
            super(RestartVariant.all().keySet());
        }
    }

    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        return LogDiversion.around(out, "bench-restart.log", console, this::run);
    }

    private Integer run() throws Exception {
        Map<String, RestartVariant> known = RestartVariant.all();
        for (String v : variants) {
            if (!known.containsKey(v)) {
                throw new IllegalArgumentException("unknown variant " + v + "; choose from " + known.keySet());
            }
        }
        if (!dtype.equals("uint8") && !dtype.equals("float32")) {
            throw new IllegalArgumentException("--dtype is uint8 or float32, not " + dtype);
        }
        Path run = Files.createDirectories(out.toAbsolutePath()
                .resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))));
        List<RestartRun.Result> results = new ArrayList<>();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(run.resolve("kafka")).build().start()) {
            for (String v : variants) {
                results.add(RestartRun.run(known.get(v), broker.bootstrapServers(), run.resolve(v.replace('+', '-')), samples,
                        dtype, kills, extra, System.out));
            }
        }
        String md = markdown(results);
        Files.writeString(run.resolve("restart.md"), md);
        System.out.println();
        System.out.println(md);
        System.out.println("report and logs: " + run);
        return 0;
    }

    private String markdown(List<RestartRun.Result> results) {
        StringBuilder b = new StringBuilder("# rehearsal bench restart\n\n");
        b.append(String.format("%,d samples of 784 %s features, 1 partition, the curator's default settings; extra properties: %s.%n"
                + "Times in ms after the new process was started (stop: after the signal).%n%n", samples, dtype,
                extra.isEmpty() ? "none" : extra));
        b.append("| variant | restart | stop | /ready | first new batch | state wiped | restored records | restore | "
                + "entries indexed | index rebuild | RUNNING | started |\n");
        b.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
        for (RestartRun.Result r : results) {
            for (RestartRun.Restart x : r.restarts()) {
                b.append(String.format("| %s | %s | %,d | %,d | %,d | %s | %,d | %,d | %,d | %,d | %,d | %,d |%n", r.variant().name(),
                        x.how(), x.stopMs(), x.readyMs(), x.firstBatchMs(), x.log().wiped() ? "yes" : "no",
                        x.log().restoredRecords(), x.log().restoreMs(), x.log().indexedEntries(), x.log().indexMs(),
                        x.log().runningMs(), x.log().startedMs()));
            }
        }
        b.append("\nVariants:\n\n");
        for (RestartRun.Result r : results) {
            b.append(String.format("- `%s`: %s; %s; filled in %,d ms%n", r.variant().name(), r.variant().what(),
                    r.variant().properties().isEmpty() ? "no extra properties" : r.variant().properties(), r.fillMs()));
        }
        return b.toString();
    }
}
