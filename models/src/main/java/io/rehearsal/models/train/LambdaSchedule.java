package io.rehearsal.models.train;

/**
 * The weight of the self-supervision (KL) term by step: zero during the warm-up, then ramped
 * linearly to its full value. Early on the model's predictions are noise, so matching the views to
 * the anchor would only teach it to be uniformly unsure.
 *
 * @param lambda      full weight
 * @param warmupSteps steps (1-based) with weight zero
 * @param rampSteps   steps over which the weight rises linearly to {@code lambda} after the warm-up
 */
public record LambdaSchedule(float lambda, long warmupSteps, long rampSteps) {
    public LambdaSchedule {
        if (!(lambda >= 0) || Float.isInfinite(lambda)) {
            throw new IllegalArgumentException("lambda must be a finite number >= 0, got " + lambda);
        }
        if (warmupSteps < 0 || rampSteps < 0) {
            throw new IllegalArgumentException("warmupSteps and rampSteps must be >= 0, got " + warmupSteps + ", " + rampSteps);
        }
    }

    /** The weight at 1-based {@code step}. */
    public float at(long step) {
        if (lambda == 0 || step <= warmupSteps) {
            return 0f;
        }
        if (rampSteps == 0) {
            return lambda;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps) / rampSteps);
        return (float) (lambda * progress);
    }
}
