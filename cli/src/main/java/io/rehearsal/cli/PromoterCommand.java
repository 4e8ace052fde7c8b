package io.rehearsal.cli;

import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.promote.PromotionPolicy;
import io.rehearsal.schemas.Topics;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal promoter}: one model's promotion guardrail and release controller, until Ctrl-C. */
@Command(name = "promoter", mixinStandardHelpOptions = true,
        description = {"Evaluate each new snapshot of one model (a candidate) on the held-out EVAL samples the curator",
                "streams, per task and per class, beside the promoted version on the same samples, and promote it to",
                "rehearsal.model-promotions only if the policy holds; apply operators' commands (rehearsal model).",
                "Subscribers and predictors serve what it promotes. One promoter per model: a second one fences the",
                "first. See docs/lifecycle.md."})
final class PromoterCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;
    @Mixin
    OpsOptions ops;
    @Mixin
    SnapshotKeyOptions key;

    @Option(names = "--model-id", defaultValue = "default", description = "Model to promote (default: ${DEFAULT-VALUE}).")
    String modelId;

    @Option(names = "--max-task-drop", defaultValue = "0.10",
            description = "How far a task may fall below its best promoted accuracy, as a fraction (default: ${DEFAULT-VALUE}).")
    double maxTaskDrop;

    @Option(names = "--max-class-drop", defaultValue = "0.20",
            description = "How far a class may fall below the promoted version's accuracy on it (default: ${DEFAULT-VALUE}).")
    double maxClassDrop;

    @Option(names = "--max-overall-drop", defaultValue = "0.05",
            description = "How far the overall accuracy may fall below the promoted version's (default: ${DEFAULT-VALUE}).")
    double maxOverallDrop;

    @Option(names = "--min-accuracy", defaultValue = "0.0",
            description = "Overall accuracy a candidate needs at least; 0 = no floor (default: ${DEFAULT-VALUE}).")
    double minAccuracy;

    @Option(names = "--min-samples", defaultValue = "20",
            description = "Held-out samples needed to judge at all, and per task or class to judge it (default: ${DEFAULT-VALUE}).")
    int minSamples;

    @Option(names = "--keep-releases", defaultValue = "3",
            description = "Earlier promoted versions kept for a rollback (default: ${DEFAULT-VALUE}).")
    int keepReleases;

    @Option(names = "--eval-lookback", defaultValue = "10000",
            description = "On start, read rehearsal.train-batches from this many records before its end for held-out samples (default: ${DEFAULT-VALUE}).")
    int evalLookback;

    @Option(names = "--threads", defaultValue = "1", description = "PyTorch intra-op threads for evaluation (default: ${DEFAULT-VALUE}).")
    int threads;

    PromoterSettings settings() {
        PromotionPolicy policy = new PromotionPolicy(maxTaskDrop, maxClassDrop, maxOverallDrop, minAccuracy, minSamples);
        return PromoterSettings.builder(modelId).optPolicy(policy).optKeepReleases(keepReleases).optEvalLookback(evalLookback)
                .optThreads(threads).optSigningKey(key.key().orElse(null)).build();
    }

    @Override
    public Integer call() throws InterruptedException {
        PromoterSettings settings = settings();
        Topics topics = kafka.topics();
        ComponentRuntime.ensureTopics(kafka, ops, List.of(topics.trainBatches(), topics.modelUpdates(), topics.modelChunks(),
                topics.promotions(), topics.releases(), topics.commands()));
        String bootstrap = (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        try (ComponentRuntime runtime = ComponentRuntime.create("promoter");
             Promoter promoter = Promoter.start(settings, topics, bootstrap, kafka.clientProperties(), runtime.registry())) {
            StopOnSignal stopped = StopOnSignal.install("promoter", promoter::close);
            runtime.serve(ops, promoter::ready);
            while (!stopped.await(1, TimeUnit.SECONDS)) {
                if (!stopped.signalled() && promoter.failure().isPresent()) {
                    System.err.println("promoter of model " + modelId + " stopped: " + promoter.failure().get()
                            + "; see the log above");
                    return 1;
                }
            }
        }
        return 0;
    }
}
