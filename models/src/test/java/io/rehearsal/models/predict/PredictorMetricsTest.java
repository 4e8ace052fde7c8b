package io.rehearsal.models.predict;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The Prometheus names docs/metrics.md promises, for the subscriber's and the predictor's meters. */
class PredictorMetricsTest {

    private static ModelSnapshot snapshot(long version, byte[] blob, ModelSpec spec) {
        return SnapshotCodec.snapshot("fashion", version, null, 10 * version, Instant.now().minusMillis(250), spec.toAvro(), blob,
                List.of(), new SnapshotMetrics(0L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                new Provenance(Map.of(), 1L, List.of(), List.of(), 0, "t", "t", "17", "0.36.0", "2.7.1", "cpu()", "h"),
                Optional.empty());
    }

    @Test
    void shouldExportTheDocumentedPrometheusNames() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ModelSpec spec = ModelSpec.mlp(4, 3, 8);
        byte[] blob;
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("fashion", spec).build())) {
            blob = SnapshotCodec.encodeParameters(t.parameters());
        }
        try (ModelSubscriber subscriber = ModelSubscriber.detached(SubscriberSettings.builder("fashion").build(), registry)) {
            subscriber.offer(snapshot(2, blob, spec), ref -> null);
            subscriber.offer(snapshot(1, blob, spec), ref -> null);
            ModelSnapshot tampered = snapshot(3, blob, spec);
            byte[] flipped = blob.clone();
            flipped[100] ^= 1;
            tampered.getParameters().setInline(ByteBuffer.wrap(flipped));
            subscriber.offer(tampered, ref -> null);
            subscriber.predict(List.of(new float[4], new float[4]));

            PredictorMetrics metrics = new PredictorMetrics(registry, "fashion");
            metrics.predictedFromKafka(5);
            metrics.kafkaDelay(12);
            metrics.answered("/predict", 200, 2, 1_000_000);
            metrics.answered("/predict", 400, 0, 1_000_000);
            metrics.feedback(FeedbackKind.LABEL);
            metrics.skipped("labeled");
            metrics.rejected("SHAPE_MISMATCH");

            String text = registry.scrape();
            // latency and freshness timers are Prometheus histograms (aggregatable over instances:
            // histogram_quantile), so their client-side percentiles are not exported here; the swap time is a
            // summary with quantiles
            assertThat(text).doesNotContain("rehearsal_subscriber_prediction_latency_seconds{model=\"fashion\",quantile=",
                    "rehearsal_subscriber_swap_delay_seconds{model=\"fashion\",quantile=");
            assertThat(text).contains(
                    "rehearsal_subscriber_model_version{model=\"fashion\"} 2.0",
                    "rehearsal_subscriber_model_step{model=\"fashion\"} 20.0",
                    "rehearsal_subscriber_models_open{model=\"fashion\"} 1.0",
                    "rehearsal_subscriber_swaps_total{model=\"fashion\"} 1.0",
                    "rehearsal_subscriber_snapshots_stale_total{model=\"fashion\"} 1.0",
                    "rehearsal_subscriber_snapshots_refused_total{model=\"fashion\",reason=\"CHECKSUM\"} 1.0",
                    "rehearsal_subscriber_snapshots_refused_total{model=\"fashion\",reason=\"UNSIGNED\"} 0.0",
                    "rehearsal_subscriber_swap_time_seconds{model=\"fashion\",quantile=\"0.99\"}",
                    "rehearsal_subscriber_swap_time_seconds_count{model=\"fashion\"} 1",
                    "rehearsal_subscriber_swap_delay_seconds_bucket{model=\"fashion\",le=",
                    "rehearsal_subscriber_swap_delay_seconds_count{model=\"fashion\"} 1",
                    "rehearsal_subscriber_predictions_total{model=\"fashion\"} 2.0",
                    "rehearsal_subscriber_prediction_latency_seconds_bucket{model=\"fashion\",le=",
                    "rehearsal_subscriber_prediction_latency_seconds_count{model=\"fashion\"} 1",
                    "rehearsal_predictor_predictions_total{model=\"fashion\",source=\"kafka\"} 5.0",
                    "rehearsal_predictor_predictions_total{model=\"fashion\",source=\"http\"} 2.0",
                    "rehearsal_predictor_http_latency_seconds_bucket{model=\"fashion\",le=",
                    "rehearsal_predictor_http_latency_seconds_count{model=\"fashion\"} 1",
                    "rehearsal_predictor_http_responses_total{model=\"fashion\",path=\"/predict\",status=\"400\"} 1.0",
                    "rehearsal_predictor_kafka_delay_seconds_bucket{model=\"fashion\",le=",
                    "rehearsal_predictor_kafka_delay_seconds_count{model=\"fashion\"} 1",
                    "rehearsal_predictor_feedback_total{kind=\"LABEL\",model=\"fashion\"} 1.0",
                    "rehearsal_predictor_feedback_total{kind=\"REJECT\",model=\"fashion\"} 0.0",
                    "rehearsal_predictor_requests_skipped_total{model=\"fashion\",reason=\"labeled\"} 1.0",
                    "rehearsal_predictor_requests_rejected_total{model=\"fashion\",reason=\"SHAPE_MISMATCH\"} 1.0",
                    // every rejection reason exists at 0 before the first one
                    "rehearsal_predictor_requests_rejected_total{model=\"fashion\",reason=\"BAD_MARKER\"} 0.0");
        }
    }
}
