package io.rehearsal.bench;

import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.streams.CuratorSettings;

/**
 * Overrides of the production defaults for one benchmark run: the levers the tuning log turns. Every
 * field left null keeps the default of {@link CuratorSettings#defaults()} or of the
 * {@link TrainerSettings} builder, so the benchmark measures what production runs unless told otherwise.
 *
 * @param longTermShare  share of recall groups offered first to the long-term buffer
 * @param baseInterval   I_0 in steps (0 = auto)
 * @param maxInterval    I_max in steps (0 = auto, 4 I_0)
 * @param minInterval    I_min in steps
 * @param fillRecalls    fill empty recall groups with the soonest-due entries
 * @param weakShift      anchor shift in pixels
 * @param strongShift    other views' shift in pixels
 * @param noiseStd       other views' Gaussian noise
 * @param eraseProbability other views' erasing probability
 * @param eraseMaxFraction largest erased side, as a fraction of the image side
 * @param warmupSteps    steps before the consistency loss starts
 * @param rampSteps      steps over which it rises to lambda
 * @param momentum       SGD momentum
 * @param weightDecay    L2 weight decay
 * @param classBalanced  class-balanced cross-entropy in the trainer
 */
public record ClTuning(Double longTermShare, Long baseInterval, Long maxInterval, Long minInterval, Boolean fillRecalls,
                       Integer weakShift, Integer strongShift, Float noiseStd, Float eraseProbability,
                       Float eraseMaxFraction, Long warmupSteps, Long rampSteps, Float momentum, Float weightDecay,
                       Boolean classBalanced) {

    /** No overrides: the production defaults. */
    public static ClTuning defaults() {
        return new ClTuning(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /** The curator settings with these overrides. */
    public CuratorSettings apply(CuratorSettings s) {
        CuratorSettings out = s;
        if (longTermShare != null) {
            out = out.optLongTermShare(longTermShare);
        }
        if (baseInterval != null || maxInterval != null || minInterval != null) {
            out = out.optIntervals(baseInterval != null ? baseInterval : out.intervals().base(),
                    maxInterval != null ? maxInterval : out.intervals().max(),
                    minInterval != null ? minInterval : out.intervals().min());
        }
        if (fillRecalls != null) {
            out = out.optFillRecalls(fillRecalls);
        }
        return out;
    }

    /** The augmentation with these overrides. */
    public AugmentSettings apply(AugmentSettings a) {
        return new AugmentSettings(weakShift != null ? weakShift : a.weakShift(),
                strongShift != null ? strongShift : a.strongShift(),
                noiseStd != null ? noiseStd : a.noiseStd(),
                eraseProbability != null ? eraseProbability : a.eraseProbability(),
                eraseMaxFraction != null ? eraseMaxFraction : a.eraseMaxFraction(),
                a.featureDropout());
    }
}
