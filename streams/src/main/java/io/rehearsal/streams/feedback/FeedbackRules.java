package io.rehearsal.streams.feedback;

import io.rehearsal.streams.buffer.SampleEntry;

/**
 * How conflicting feedback about one sample is resolved: the latest event time wins; at equal event
 * times the higher annotator trust wins; at equal trust the one that arrived last wins. A pure
 * function, tested alone.
 */
public final class FeedbackRules {
    private FeedbackRules() {
    }

    /**
     * Whether feedback at {@code time} with {@code trust} replaces the feedback applied before, at
     * {@code previousTime} ({@link SampleEntry#NO_FEEDBACK} if none) with {@code previousTrust}.
     */
    public static boolean supersedes(long time, float trust, long previousTime, float previousTrust) {
        if (previousTime == SampleEntry.NO_FEEDBACK) {
            return true;
        }
        if (time != previousTime) {
            return time > previousTime;
        }
        return trust >= previousTrust;
    }
}
