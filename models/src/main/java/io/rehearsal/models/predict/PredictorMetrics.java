package io.rehearsal.models.predict;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.FeedbackKind;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The prediction service's Micrometer meters, named {@code rehearsal.predictor.*} and tagged {@code model}.
 * See docs/metrics.md for what each means and its Prometheus name.
 */
final class PredictorMetrics {
    static final String KAFKA = "kafka";
    static final String HTTP = "http";

    private final MeterRegistry registry;
    private final Tags tags;
    private final Counter kafkaPredictions;
    private final Counter httpPredictions;
    private final Timer httpLatency;
    private final Timer kafkaDelay;
    private final Map<FeedbackKind, Counter> feedback = new EnumMap<>(FeedbackKind.class);
    private final Map<String, Counter> skipped = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
    private final Map<String, Counter> responses = new ConcurrentHashMap<>();

    PredictorMetrics(MeterRegistry registry, String modelId) {
        this.registry = registry;
        this.tags = Tags.of("model", modelId);
        kafkaPredictions = predictions(KAFKA);
        httpPredictions = predictions(HTTP);
        httpLatency = Timer.builder("rehearsal.predictor.http.latency")
                .description("Time to answer POST /predict: parse, predict, write the JSON answer")
                .tags(tags).publishPercentiles(0.5, 0.9, 0.99).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(50_000)).maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        kafkaDelay = Timer.builder("rehearsal.predictor.kafka.delay")
                .description("From a request's record timestamp on the samples topic to its prediction being sent")
                .tags(tags).publishPercentiles(0.5, 0.9, 0.99).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        for (FeedbackKind kind : FeedbackKind.values()) {
            feedback.put(kind, Counter.builder("rehearsal.predictor.feedback")
                    .description("Feedback received over HTTP and written to the feedback topic, by kind")
                    .tags(tags).tag("kind", kind.name()).register(registry));
        }
        // every rejection reason at 0, so that increase() sees the first one and alert rules find the series
        for (RecordDecodeException.Reason reason : RecordDecodeException.Reason.values()) {
            rejectedCounter(reason.name());
        }
    }

    private Counter predictions(String source) {
        return Counter.builder("rehearsal.predictor.predictions")
                .description("Predictions made, by where the request came from (kafka: rehearsal.samples, http: POST /predict)")
                .tags(tags).tag("source", source).register(registry);
    }

    void predictedFromKafka(int n) {
        kafkaPredictions.increment(n);
    }

    void kafkaDelay(long millis) {
        kafkaDelay.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
    }

    /** One HTTP answer: its status, and for a successful POST /predict the predictions and the time it took. */
    void answered(String path, int status, int predictions, long nanos) {
        responses.computeIfAbsent(path + " " + status, k -> Counter.builder("rehearsal.predictor.http.responses")
                .description("HTTP answers of the prediction API, by path and status").tags(tags)
                .tag("path", path).tag("status", Integer.toString(status)).register(registry)).increment();
        if (predictions > 0) {
            httpPredictions.increment(predictions);
            httpLatency.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    void feedback(FeedbackKind kind) {
        feedback.get(kind).increment();
    }

    void skipped(String reason) {
        skipped.computeIfAbsent(reason, r -> Counter.builder("rehearsal.predictor.requests.skipped")
                .description("Records on the samples topic that are not requests for this model (labeled, other model)")
                .tags(tags).tag("reason", r).register(registry)).increment();
    }

    void rejected(String reason) {
        rejectedCounter(reason).increment();
    }

    private Counter rejectedCounter(String reason) {
        return rejected.computeIfAbsent(reason, r -> Counter.builder("rehearsal.predictor.requests.rejected")
                .description("Requests sent to the dead-letter topic, by reason").tags(tags).tag("reason", r)
                .register(registry));
    }
}
