package io.rehearsal.cli;

import io.rehearsal.models.predict.ApiTokens;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rehearsal predictor}: serve one model's predictions from Kafka and HTTP, until Ctrl-C. */
@Command(name = "predictor", mixinStandardHelpOptions = true,
        description = {"Serve the promoted version of one model (--follow latest: the newest verified snapshot): answer",
                "unlabeled samples on rehearsal.samples",
                "with predictions on rehearsal.predictions (instances share the work in consumer group",
                "rehearsal-predictor-<model>), and over HTTP on the metrics port: POST /predict, GET /model,",
                "POST /feedback, beside /metrics, /health and /ready (ready once a model is served).",
                "See docs/subscribing.md."})
final class PredictorCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;
    @Mixin
    OpsOptions ops;
    @Mixin
    SnapshotKeyOptions key;
    @Mixin
    ApiSecurityOptions security;

    @Option(names = "--model-id", defaultValue = "default", description = "Model to serve (default: ${DEFAULT-VALUE}).")
    String modelId;

    @Option(names = "--top-k", defaultValue = "3", description = "Best classes listed in each prediction (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--threads", defaultValue = "1", description = "PyTorch intra-op threads for inference (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--group-prefix", defaultValue = "rehearsal-predictor-",
            description = "Consumer group prefix; the group is prefix + model id (default: ${DEFAULT-VALUE}).")
    String groupPrefix;

    @Option(names = "--follow", defaultValue = "PROMOTED",
            description = "Serve the version the promoter PROMOTED (rehearsal.model-promotions) or the trainer's LATEST candidate (rehearsal.model-updates) (default: ${DEFAULT-VALUE}).")
    Follow follow;

    @Option(names = "--start-timeout", defaultValue = "PT60S",
            description = "How long to wait for the latest snapshot on start before answering /ready anyway (default: ${DEFAULT-VALUE}).")
    Duration startTimeout;

    @Override
    public Integer call() throws InterruptedException {
        SubscriberSettings subscriber = SubscriberSettings.builder(modelId).optTopK(topK).optThreads(threads)
                .optVerifyKey(key.key().orElse(null)).optStartTimeout(startTimeout).optFollow(follow).build();
        PredictorSettings settings = PredictorSettings.builder(subscriber).optGroupIdPrefix(groupPrefix).build();
        Topics topics = kafka.topics();
        ComponentRuntime.ensureTopics(kafka, ops, List.of(topics.samples(), topics.predictions(), topics.feedback(),
                topics.deadLetters(), topics.modelUpdates(), topics.modelChunks(), topics.promotions(), topics.releases(),
                topics.commands()));
        String bootstrap = (String) kafka.clientProperties().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        // who may call the API, read before anything starts: a bad key store or tokens file stops the command here
        Optional<ApiTokens> tokens = security.tokens();
        Optional<SSLContext> tls = security.tls();
        if (tokens.isPresent() && tls.isEmpty()) {
            System.err.println("warning: --api-tokens-file without --tls-keystore: tokens travel in clear text");
        }
        try (ComponentRuntime runtime = ComponentRuntime.create("predictor");
             LazyCommands commands = new LazyCommands(() -> ModelCommands.create(topics, bootstrap, kafka.clientProperties(),
                     key.key()));
             PredictionService service = new PredictionService(settings, topics, bootstrap, kafka.clientProperties(),
                     runtime.registry())) {
            StopOnSignal stopped = StopOnSignal.install("predictor", service::close);
            // serve /health, the API (503 NO_MODEL) and a failing /ready while the latest snapshot loads; /ready
            // says yes once a model is loaded and warmed up, so POST /predict answers from then on
            runtime.serve(ops, service::ready, new PredictionHttpApi(service, tokens, commands, Duration.ofSeconds(30)).routes(),
                    tls);
            service.start();
            while (!stopped.await(1, TimeUnit.SECONDS)) {
                if (!stopped.signalled() && service.failure().isPresent()) {
                    System.err.println("predictor of model " + modelId + " stopped: " + service.failure().get()
                            + "; see the log above");
                    return 1;
                }
            }
        }
        return 0;
    }
}
