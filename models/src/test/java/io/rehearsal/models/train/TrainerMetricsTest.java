package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Prometheus names docs/metrics.md promises for the trainer. */
class TrainerMetricsTest {
    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");

    @Test
    void shouldExportTheDocumentedPrometheusNames() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TrainerMetrics metrics = new TrainerMetrics(registry, "fashion", "cpu()", Clock.systemUTC());
        metrics.step(new StepResult(1, 64, 256, 16, 12, 1.2, 0.1, 0.5f, 1.25, 5_000_000));
        EvalTracker evals = new EvalTracker();
        evals.record("e1", 3, "t1", 3, 1, 10);
        evals.record("e2", 4, "t2", 1, 1, 10);
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
                "rehearsal_trainer_batches_skipped_total{model=\"fashion\"} 1.0",
                "rehearsal_trainer_sample_to_snapshot_seconds_bucket{model=\"fashion\",le=",
                // every rejection reason exists at 0 before the first rejection
                "rehearsal_trainer_batches_rejected_total{model=\"fashion\",reason=\"WRONG_MODEL\"} 0.0",
                "rehearsal_trainer_batches_rejected_total{model=\"fashion\",reason=\"MALFORMED_AVRO\"} 0.0");
    }

    @Test
    void shouldRecordTheTimeFromEachFreshSampleToTheSnapshotTrainedOnIt() {
        // Given a trainer whose clock says NOW, and a batch with two fresh items (3 s and 10 s old) and a recall
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TrainerMetrics metrics = new TrainerMetrics(registry, "fashion", "cpu()", Clock.fixed(NOW, ZoneOffset.UTC));
        metrics.trained(batch(item("a", ItemRole.FRESH, NOW.minusSeconds(3)), item("b", ItemRole.FRESH, NOW.minusSeconds(10)),
                item("c", ItemRole.RECALL, NOW.minusSeconds(3600))));

        // When a snapshot is published
        metrics.published(1, 100, 1_000_000, 0.5);
        metrics.published(2, 100, 1_000_000, 0.5);

        // Then the fresh items, not the recalled one, are recorded once, with their time to that snapshot
        var timer = registry.get("rehearsal.trainer.sample.to.snapshot").timer();
        assertThat(timer.count()).isEqualTo(2);
        assertThat(timer.totalTime(java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(13.0);
        assertThat(timer.max(java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(10.0);
    }

    @Test
    void shouldBoundTheTaskLabelToTheFirstTasksSeen() {
        // Given held-out samples of more tasks than the trainer gives series to
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TrainerMetrics metrics = new TrainerMetrics(registry, "fashion", "cpu()", Clock.systemUTC());
        EvalTracker evals = new EvalTracker();
        for (int t = 0; t < TrainerMetrics.MAX_TASK_SERIES + 10; t++) {
            evals.record("e" + t, 0, String.format("task-%03d", t), 0, 1, 10);
        }

        // When they are evaluated, twice
        metrics.evaluated(evals.size(), evals);
        metrics.evaluated(evals.size(), evals);

        // Then only the first MAX_TASK_SERIES tasks have a series, and the overall accuracy still counts them all
        assertThat(registry.find("rehearsal.trainer.eval.task.accuracy").gauges()).hasSize(TrainerMetrics.MAX_TASK_SERIES);
        assertThat(registry.get("rehearsal.trainer.eval.accuracy").gauge().value()).isEqualTo(1.0);
    }

    private static TrainItem item(String id, ItemRole role, Instant eventTime) {
        return new TrainItem(id, 0, 0, FeatureTensor.ofFloats(new int[] {1}, new float[] {0f}), 1, 0, role, 0, null, 0, 0L,
                eventTime);
    }

    private static TrainBatch batch(TrainItem... items) {
        return new TrainBatch("fashion/0/0", "fashion", 0, 0L, BatchKind.TRAIN, 1, List.of(items),
                new ScheduleStats(items.length, 0, 0, 0, 0.0, 0, 0, 1), 0L, null, NOW);
    }
}
