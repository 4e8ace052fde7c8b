package io.rehearsal.cli;

import io.rehearsal.cli.report.LearningReport;
import io.rehearsal.cli.report.SnapshotPoint;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rehearsal report}: the learning report of a deployed model from the snapshot history on its model-updates
 * topic: held-out accuracy per tag over training steps (PNG), the accuracy matrix by tag, freshness and throughput.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write the learning report of a model from the snapshots on rehearsal.model-updates (every snapshot",
                "carries its held-out evaluation per task/tag, the tags it learned and the event time of the newest sample",
                "it learned): accuracy per tag over training steps (report.png), the accuracy matrix by tag, forgetting,",
                "freshness and throughput (report.md, report.json), for the whole history the topic keeps or a window.",
                "Example: rehearsal report --model-id fashion --since PT1H"})
final class ReportCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;

    @Spec
    CommandSpec spec;

    @Option(names = "--model-id", defaultValue = "default", description = "The model (default: ${DEFAULT-VALUE}).")
    String modelId;

    @Option(names = "--since", description = "Only snapshots published at or after this: an instant (2026-12-07T10:00:00Z) "
            + "or a duration before now (PT1H).")
    String since;

    @Option(names = "--until", description = "Only snapshots published at or before this: an instant or a duration before now.")
    String until;

    @Option(names = "--out", description = "Report directory (default: reports/report-<model>-<time>).")
    Path out;

    @Option(names = "--read-timeout", defaultValue = "PT5M", description = "Longest time to read the topic's history (default: ${DEFAULT-VALUE}).")
    Duration readTimeout;

    @Override
    public Integer call() throws Exception {
        Instant now = Instant.now();
        Instant from = since == null ? Instant.MIN : when(since, now, "--since");
        Instant to = until == null ? Instant.MAX : when(until, now, "--until");
        Topics topics = kafka.topics();
        String bootstrap = (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        List<SnapshotPoint> points = new ArrayList<>();
        int undecodable;
        try (SnapshotReader reader = SnapshotReader.create(topics, bootstrap, kafka.clientProperties(), readTimeout)) {
            undecodable = reader.scan(modelId, new SnapshotReader.Visitor() {
                @Override
                public void snapshot(ModelSnapshot s) {
                    if (!s.getCreatedTime().isBefore(from) && !s.getCreatedTime().isAfter(to)) {
                        points.add(SnapshotPoint.of(s));
                    }
                }

                @Override
                public void tombstone() {
                    points.clear();
                }
            });
        }
        var err = spec.commandLine().getErr();
        var stdout = spec.commandLine().getOut();
        if (undecodable > 0) {
            err.printf("warning: %d records of model %s on %s do not decode as snapshots; skipped%n", undecodable, modelId,
                    topics.modelUpdates().name());
        }
        if (points.isEmpty()) {
            err.printf("model %s has no snapshot on %s%s; check --model-id and --topic-prefix, and that its trainer has published%n",
                    modelId, topics.modelUpdates().name(), since != null || until != null ? " in that window" : "");
            err.flush();
            return 1;
        }
        String window = (since == null && until == null ? "the history the topic holds"
                : "the window " + (since == null ? "from the start" : from) + " to " + (until == null ? "now" : to));
        LearningReport report = new LearningReport(modelId, points, window);
        Path dir = out != null ? out : Path.of("reports", "report-" + modelId + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        report.write(dir, JsonCodec.mapper());
        stdout.println(report.markdown().replace("![held-out accuracy per tag over training steps](report.png)",
                "Plot: " + dir.resolve("report.png")));
        stdout.println("Report: " + dir.resolve("report.md") + ", " + dir.resolve("report.json") + ", " + dir.resolve("report.png"));
        stdout.flush();
        return 0;
    }

    private Instant when(String text, Instant now, String option) {
        try {
            return text.startsWith("P") || text.startsWith("p") ? now.minus(Duration.parse(text)) : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " " + text + " is neither an instant "
                    + "(2026-12-07T10:00:00Z) nor a duration (PT1H, P1D)");
        }
    }
}
