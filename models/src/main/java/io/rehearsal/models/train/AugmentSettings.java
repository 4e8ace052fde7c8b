package io.rehearsal.models.train;

/**
 * How the trainer builds the views of one item. View 0 (the anchor) gets the weak augmentation,
 * views 1..R-1 the strong one. Image inputs (see {@link io.rehearsal.models.net.ModelSpec#imageShape()})
 * are shifted with zero fill, optionally flipped (only where the spec allows), partly erased and
 * given noise; flat inputs get noise and feature dropout.
 *
 * @param weakShift        anchor: random shift of up to this many pixels in each direction (0: none)
 * @param strongShift      other views: random shift of up to this many pixels
 * @param noiseStd         other views: standard deviation of added Gaussian noise
 * @param eraseProbability other views (images): probability of erasing one random rectangle
 * @param eraseMaxFraction largest erased rectangle side as a fraction of the image side
 * @param featureDropout   other views (flat inputs): probability of zeroing each feature
 */
public record AugmentSettings(int weakShift, int strongShift, float noiseStd, float eraseProbability,
                              float eraseMaxFraction, float featureDropout) {
    public AugmentSettings {
        if (weakShift < 0 || strongShift < 0) {
            throw new IllegalArgumentException("shifts must be >= 0 pixels, got weak " + weakShift + ", strong " + strongShift);
        }
        if (!(noiseStd >= 0)) {
            throw new IllegalArgumentException("noiseStd must be >= 0, got " + noiseStd);
        }
        checkProbability("eraseProbability", eraseProbability);
        checkProbability("eraseMaxFraction", eraseMaxFraction);
        checkProbability("featureDropout", featureDropout);
        if (featureDropout >= 1) {
            throw new IllegalArgumentException("featureDropout " + featureDropout + " would zero every feature; use < 1");
        }
    }

    /** Anchor shifted by up to 1 pixel; views by up to 3, noise 0.05, erasing half the time, dropout 0.1. */
    public static AugmentSettings defaults() {
        return new AugmentSettings(1, 3, 0.05f, 0.5f, 0.4f, 0.1f);
    }

    /** No augmentation: every view equals its item (the self-supervision term is then zero). */
    public static AugmentSettings none() {
        return new AugmentSettings(0, 0, 0f, 0f, 0f, 0f);
    }

    public boolean isNone() {
        return weakShift == 0 && strongShift == 0 && noiseStd == 0 && eraseProbability == 0 && featureDropout == 0;
    }

    private static void checkProbability(String name, float value) {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
        }
    }
}
