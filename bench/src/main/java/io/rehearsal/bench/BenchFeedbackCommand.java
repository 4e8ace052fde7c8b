package io.rehearsal.bench;

import io.rehearsal.bench.console.Bars;
import io.rehearsal.bench.console.ConsoleOptions;
import io.rehearsal.bench.console.LogDiversion;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.bench.experiment.ExperimentSpec;
import io.rehearsal.bench.experiment.InProcessExperiment;
import io.rehearsal.bench.feedback.FeedbackCase;
import io.rehearsal.bench.feedback.FeedbackReport;
import io.rehearsal.models.snapshot.BuildInfo;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.streams.CuratorSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rehearsal bench feedback}: the default configuration on the continual-learning benchmark's stream with clean
 * labels, with a share of flipped labels and no feedback, and with the same flips corrected by LABEL (or REJECT)
 * feedback a number of samples later; how much of the accuracy the flips cost the feedback wins back.
 */
@Command(name = "feedback", mixinStandardHelpOptions = true,
        description = {"Human feedback, measured: the default configuration (view-batch R = 2, M = 500, the bench cl budget) on",
                "class-incremental Split Fashion-MNIST with clean labels; with X%% of training labels flipped and no feedback;",
                "and with every flip corrected by LABEL or REJECT feedback D samples later. Reports final accuracy, forgetting",
                "and the share of the noise gap the feedback recovers, (with feedback - noisy) / (clean - noisy), per seed.",
                "In process (the production topology through TopologyTestDriver): the same seed gives the same numbers.",
                "Writes bench-feedback.md, .csv and .json."})
public final class BenchFeedbackCommand implements Callable<Integer> {
    @Option(names = "--noise", split = ",", defaultValue = "0.1,0.3", description = "Shares of flipped labels (default: ${DEFAULT-VALUE}).")
    List<Double> noise;
    @Option(names = "--delays", split = ",", defaultValue = "100,1000,5000",
            description = "Samples between a flipped sample and its feedback (default: ${DEFAULT-VALUE}).")
    List<Integer> delays;
    @Option(names = "--kinds", split = ",", defaultValue = "LABEL,REJECT", description = "Feedback kinds (default: ${DEFAULT-VALUE}).")
    List<FeedbackKind> kinds;
    @Option(names = "--reject-delays", split = ",",
            description = "Delays of the REJECT runs, when fewer than --delays (default: the same as --delays).")
    List<Integer> rejectDelays;
    @Option(names = "--seeds", split = ",", defaultValue = "1,2,3", description = "Seeds (default: ${DEFAULT-VALUE}).")
    List<Long> seeds;
    @Option(names = "--config", defaultValue = "vb2", description = "The bench cl configuration (default: ${DEFAULT-VALUE}, the production default).")
    String config;
    @Option(names = "--buffer-size", defaultValue = "500", description = "M (default: ${DEFAULT-VALUE}).")
    int bufferSize;
    @Option(names = "--max-train-per-task", defaultValue = "0", description = "Cut each task's training images (0 = all 12,000).")
    int maxTrainPerTask;
    @Option(names = "--recall-corrections", description = "The curator's --recall-corrections: a corrected sample is recalled at once, "
            + "ahead of every other recall (default: off, as in production).")
    boolean recallCorrections;
    @Option(names = "--baseline", description = {"An earlier run's bench-feedback.json: its clean and flipped-without-feedback "
            + "runs (same data, configuration and seeds) are taken",
            "instead of run again; feedback settings change nothing in them (default: run them)."})
    Path baseline;
    @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist", description = "Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path data;
    @Option(names = "--out", defaultValue = "reports/bench-feedback", description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;
    @Mixin
    ConsoleOptions console = new ConsoleOptions();

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(out);
        Bars bars = Bars.onStdout();
        try (LogDiversion logs = LogDiversion.start(out.resolve("bench-feedback.log"), bars.out(), console.verbose())) {
            return run(bars);
        }
    }

    /** The conditions of one seed: clean, then per noise level the flips alone and corrected by each kind and delay. */
    List<FeedbackCase> cases() {
        List<FeedbackCase> cases = new ArrayList<>(List.of(FeedbackCase.CLEAN));
        for (double x : noise) {
            cases.add(FeedbackCase.noisy(x));
            for (FeedbackKind kind : kinds) {
                for (int d : kind == FeedbackKind.REJECT && rejectDelays != null ? rejectDelays : delays) {
                    cases.add(new FeedbackCase(x, kind, d));
                }
            }
        }
        return cases;
    }

    private int run(Bars bars) throws Exception {
        FashionMnist.Data dataset = FashionMnist.load(data);
        ClConfig.Budget budget = new ClConfig.Budget(128, 8, 4, "mlp", "256,256", 0.02f, 200, 100, maxTrainPerTask, 0,
                ClTuning.defaults());
        // the production linger (unlike bench cl's zero): when the stream ends, the corrections that come after its last
        // sample are still trained, as a live curator trains them once traffic stops
        CuratorSettings production = CuratorSettings.defaults();
        List<FeedbackCase> cases = cases();
        List<FeedbackReport.Row> baselines = baseline == null ? List.of() : FeedbackReport.baselines(baseline);
        String header = String.format("Data: %s. Configuration %s, M = %d (B = %d views per step, F = %d fresh per step, V = %d views "
                        + "per fresh sample, curator linger %s%s), in process; seeds %s; commit %s.", dataset.source(), config, bufferSize,
                budget.batchSize(), budget.freshPerBatch(), budget.viewsPerFreshSample(), production.emission().linger(),
                recallCorrections ? ", corrections recalled at once" : "", seeds,
                BuildInfo.gitSha()) + (baseline == null ? "" : " Runs without feedback taken from " + baseline + ".");
        bars.out().printf("rehearsal bench feedback: %d conditions x %d seeds. %s%n", cases.size(), seeds.size(), header);
        List<FeedbackReport.Row> rows = new ArrayList<>();
        for (long seed : seeds) {
            ExperimentSpec base = ClConfig.named(config, 1f).spec(budget, bufferSize, seed);
            for (FeedbackCase c : cases) {
                Optional<FeedbackReport.Row> earlier = c.kind() != null ? Optional.empty()
                        : baselines.stream().filter(x -> x.condition().equals(c) && x.seed() == seed).findFirst();
                if (earlier.isPresent()) {
                    rows.add(earlier.get());
                    bars.out().printf("  %-32s seed %d: final accuracy %5.1f%%  forgetting %5.1f  (from %s)%n", c.label(), seed,
                            100 * earlier.get().result().finalAccuracy(), 100 * earlier.get().result().forgetting(), baseline);
                    continue;
                }
                ClassIncrementalStream.Settings stream = base.stream()
                        .withNoise(c.noise(), c.kind() == null ? 0 : 1, c.kind() == null ? 0 : c.delay())
                        .withCorrectionKind(c.kind() == null ? FeedbackKind.LABEL : c.kind());
                ExperimentSpec spec = new ExperimentSpec(base.name(), stream,
                        base.curator().optLinger(production.emission().linger()).optRecallCorrections(recallCorrections), base.trainer(), 0, base.curveImagesPerTask());
                ClassIncrementalStream events = ClassIncrementalStream.build(dataset, stream);
                ExperimentResult r;
                try (ClProgress progress = new ClProgress(bars, String.format("%-32s seed %d", c.label(), seed),
                        events.events().size(), "events")) {
                    r = InProcessExperiment.run(events, spec, progress);
                }
                FeedbackReport.Row row = new FeedbackReport.Row(c, seed, r);
                rows.add(row);
                FeedbackReport partial = new FeedbackReport(header, rows);
                bars.out().printf("  %-32s seed %d: final accuracy %5.1f%%  forgetting %5.1f%s  (%.0f s)%n", c.label(), seed,
                        100 * r.finalAccuracy(), 100 * r.forgetting(),
                        partial.gapShare(row).map(x -> String.format("  gap recovered %.0f%%", 100 * x)).orElse(""), r.seconds());
                partial.write(out); // a long run leaves its table so far
            }
        }
        FeedbackReport report = new FeedbackReport(header, rows);
        report.write(out);
        bars.out().println();
        bars.out().println(report.markdownTable());
        bars.out().println("report: " + out.resolve("bench-feedback.md") + " (also .csv, .json)");
        return 0;
    }
}
