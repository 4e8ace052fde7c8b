package io.rehearsal.bench.experiment;

import java.time.Duration;

/**
 * A snapshot a subscriber has just started serving, and what it says about the pipeline (through Kafka).
 *
 * @param version          the snapshot's version
 * @param step             training steps behind it
 * @param accuracies       its accuracy on a sample of each task's held-out test images
 * @param task             the task being streamed
 * @param taskSamples      samples of that task (labeled, unlabeled and held-out)
 * @param taskLearned      how many of them the snapshot covers (the curator had read them when it built the last
 *                         batch the snapshot was trained on)
 * @param samplesPerSecond samples covered per second over the last few snapshots, end to end
 * @param freshness        from producing the newest covered sample to this subscriber serving the snapshot
 */
public record Served(long version, long step, double[] accuracies, int task, long taskSamples, long taskLearned,
                     double samplesPerSecond, Duration freshness) {
}
