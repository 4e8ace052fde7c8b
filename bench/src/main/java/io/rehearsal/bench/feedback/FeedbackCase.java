package io.rehearsal.bench.feedback;

import io.rehearsal.schemas.avro.FeedbackKind;

/**
 * One condition of the feedback benchmark: clean labels, a share of flipped labels left as they are, or the same
 * flips all corrected by feedback of one kind a number of samples later.
 *
 * @param noise share of training labels flipped (to the other class of the task)
 * @param kind  the feedback that corrects every flip, or null for none
 * @param delay samples between a flipped sample and its feedback
 */
public record FeedbackCase(double noise, FeedbackKind kind, int delay) {
    public static final FeedbackCase CLEAN = new FeedbackCase(0, null, 0);

    public FeedbackCase {
        if (noise < 0 || noise >= 0.5) {
            throw new IllegalArgumentException("noise must be in [0, 0.5), got " + noise);
        }
        if (kind != null && kind != FeedbackKind.LABEL && kind != FeedbackKind.REJECT) {
            throw new IllegalArgumentException("flips are corrected by LABEL or REJECT feedback, not " + kind);
        }
        if (delay < 0 || (kind == null && delay != 0)) {
            throw new IllegalArgumentException("a delay needs a feedback kind and must be >= 0, got " + delay);
        }
    }

    public static FeedbackCase noisy(double noise) {
        return new FeedbackCase(noise, null, 0);
    }

    public boolean clean() {
        return noise == 0;
    }

    /** "clean", "10% flipped", "10% flipped, LABEL after 1000". */
    public String label() {
        if (clean()) {
            return "clean";
        }
        String flipped = String.format("%.0f%% flipped", 100 * noise);
        return kind == null ? flipped + ", no feedback" : String.format("%s, %s after %,d", flipped, kind, delay);
    }
}
