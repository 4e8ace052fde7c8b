package io.rehearsal.cli;

import io.rehearsal.cli.status.Status;
import io.rehearsal.cli.status.StatusText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rehearsal status}: one screen for an operator. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"One screen for an operator, from the topics and the components' /metrics: per model the promoted",
                "and latest versions and their age, pinned or held back, the last decision and evaluation per task,",
                "the consumer lag of curator, trainer, predictor and promoter, the curator's buffer occupancy per class",
                "and the version each predictor serves (from --metrics), dead letters in the last hour by reason.",
                "Example: rehearsal status --metrics curator=http://curator:9400/metrics --metrics predictor=http://predictor:9400/metrics"})
final class StatusCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;
    @Mixin
    SnapshotKeyOptions key;
    @Spec
    CommandSpec spec;

    @Option(names = "--model-id", description = "A model to show (repeatable; default: every model with snapshots or promotions).")
    List<String> models = new ArrayList<>();

    @Option(names = "--metrics", description = "name=URL of a component's /metrics (repeatable), e.g. curator=http://localhost:9400/metrics.")
    List<String> metrics = new ArrayList<>();

    @Option(names = "--trainer-group-prefix", defaultValue = "rehearsal-trainer-", description = "The trainers' consumer group prefix (default: ${DEFAULT-VALUE}).")
    String trainerGroupPrefix;

    @Option(names = "--predictor-group-prefix", defaultValue = "rehearsal-predictor-", description = "The predictors' consumer group prefix (default: ${DEFAULT-VALUE}).")
    String predictorGroupPrefix;

    @Option(names = "--promoter-group-prefix", defaultValue = "rehearsal-promoter-", description = "The promoters' consumer group prefix (default: ${DEFAULT-VALUE}).")
    String promoterGroupPrefix;

    @Option(names = "--timeout", defaultValue = "PT30S", description = "Longest wait for the broker or a component (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Override
    public Integer call() {
        Map<String, String> urls = new LinkedHashMap<>();
        for (String m : metrics) {
            int eq = m.indexOf('=');
            if (eq < 1 || eq == m.length() - 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--metrics takes name=URL, got '" + m + "'");
            }
            urls.put(m.substring(0, eq), m.substring(eq + 1));
        }
        Status.Report report = Status.collect(new Status.Sources(kafka.topics(), kafka.clientProperties(), models, urls,
                trainerGroupPrefix, predictorGroupPrefix, promoterGroupPrefix, timeout), key.key());
        spec.commandLine().getOut().print(json ? StatusText.json(report).toPrettyString() + "\n" : StatusText.text(report));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
