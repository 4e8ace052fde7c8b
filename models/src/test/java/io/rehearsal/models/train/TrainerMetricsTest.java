package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/** The Prometheus names docs/metrics-trainer.md promises. */
class TrainerMetricsTest {

    @Test
    void shouldExportTheDocumentedPrometheusNames() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TrainerMetrics metrics = new TrainerMetrics(registry, "fashion", "cpu()", Clock.systemUTC());
        metrics.step(new StepResult(1, 64, 256, 16, 12, 1.2, 0.1, 0.5f, 1.25, 5_000_000));
        EvalTracker evals = new EvalTracker();
        evals.record("e1", 3, "t1", 3, 1);
        evals.record("e2", 4, "t2", 1, 1);
        metrics.evaluated(2, evals);
        metrics.published(7, 1_000_000, 20_000_000, 0.75);
        metrics.rejected("SHAPE_MISMATCH");
        metrics.skipped();
        String text = registry.scrape();
        assertThat(text).contains(
                "rehearsal_trainer_steps_total{model=\"fashion\"} 1.0",
                "rehearsal_trainer_samples_total{model=\"fashion\"} 256.0",
                "rehearsal_trainer_samples_rate{model=\"fashion\"} 51200.0",
                "rehearsal_trainer_step_time_seconds_bucket{model=\"fashion\"",
                "rehearsal_trainer_loss{model=\"fashion\",part=\"ce\"} 1.2",
                "rehearsal_trainer_loss{model=\"fashion\",part=\"kl\"} 0.1",
                "rehearsal_trainer_loss{model=\"fashion\",part=\"total\"} 1.25",
                "rehearsal_trainer_lambda{model=\"fashion\"} 0.5",
                "rehearsal_trainer_prequential_predictions_total{model=\"fashion\",outcome=\"correct\"} 12.0",
                "rehearsal_trainer_prequential_predictions_total{model=\"fashion\",outcome=\"wrong\"} 4.0",
                "rehearsal_trainer_prequential_accuracy{model=\"fashion\"} 0.75",
                "rehearsal_trainer_eval_items_total{model=\"fashion\"} 2.0",
                "rehearsal_trainer_eval_accuracy{model=\"fashion\"} 0.5",
                "rehearsal_trainer_eval_class_accuracy{class=\"3\",model=\"fashion\"} 1.0",
                "rehearsal_trainer_eval_task_accuracy{model=\"fashion\",task=\"t2\"} 0.0",
                "rehearsal_trainer_snapshot_version{model=\"fashion\"} 7.0",
                "rehearsal_trainer_snapshot_size_bytes_sum{model=\"fashion\"} 1000000.0",
                "rehearsal_trainer_snapshot_publish_time_seconds_count{model=\"fashion\"} 1",
                "rehearsal_trainer_snapshot_age_seconds{model=\"fashion\"}",
                "rehearsal_trainer_device_info{device=\"cpu()\",model=\"fashion\"} 1",
                "rehearsal_trainer_batches_rejected_total{model=\"fashion\",reason=\"SHAPE_MISMATCH\"} 1.0",
                "rehearsal_trainer_batches_skipped_total{model=\"fashion\"} 1.0");
    }
}
