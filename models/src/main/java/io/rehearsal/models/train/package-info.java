/**
 * Training: {@link io.rehearsal.models.train.ContinualTrainer} takes one step per
 * {@code TrainBatch} (views built on the device by {@link io.rehearsal.models.train.ViewAugmenter},
 * loss {@link io.rehearsal.models.train.ViewBatchLoss}: cross-entropy over all views plus lambda times
 * KL(anchor || view)), and {@link io.rehearsal.models.train.TrainerApp} runs it against Kafka,
 * publishing snapshots with the offsets they cover in one transaction. Settings are the validated
 * record {@link io.rehearsal.models.train.TrainerSettings}; meters are in
 * {@link io.rehearsal.models.train.TrainerMetrics}. See docs/trainer.md.
 */
package io.rehearsal.models.train;
