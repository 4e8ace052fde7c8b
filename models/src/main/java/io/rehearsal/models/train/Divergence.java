package io.rehearsal.models.train;

import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.DeadLetters;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's guard against weights that are not finite or diverged: it keeps the last weights known
 * good (published or loaded) and where they stood, counts non-finite steps in a row, and rolls the trainer
 * back to the good state when the weights cannot be published or trained on, dead-lettering the batches
 * whose steps are undone.
 */
final class Divergence {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    /** Weights and optimizer state to publish. */
    record Weights(List<NamedTensor> parameters, List<NamedTensor> optimizerState) {
    }

    /** Weights and optimizer state known finite, the step and samples they stand at, and the batch offset after them. */
    private record GoodState(List<NamedTensor> parameters, List<NamedTensor> optimizerState, long step, long samplesSeen,
                             long version, long nextOffset) {
    }

    private final String modelId;
    private final ContinualTrainer trainer;
    private final TrainerMetrics metrics;
    private final TrainerDeadLetters deadLetters;
    private final BatchCoverage coverage;
    private final BatchSource batches;
    /** The last weights known finite (published or loaded) and where they stood: what a roll-back returns to. */
    private GoodState good;
    /** Non-finite steps in a row (0 after a step that applied). */
    private int skipStreak;

    Divergence(String modelId, ContinualTrainer trainer, TrainerMetrics metrics, TrainerDeadLetters deadLetters,
               BatchCoverage coverage, BatchSource batches) {
        this.modelId = modelId;
        this.trainer = trainer;
        this.metrics = metrics;
        this.deadLetters = deadLetters;
        this.coverage = coverage;
        this.batches = batches;
    }

    /** At the start: the weights the trainer resumed from (or its initial ones) are the good state. */
    void started(long version, long nextOffset) {
        good = new GoodState(trainer.parameters(), trainer.optimizerState(), trainer.step(), trainer.samplesSeen(), version,
                nextOffset);
    }

    /** A step applied: the run of non-finite steps, if any, is over. */
    void applied() {
        skipStreak = 0;
    }

    /**
     * A step was not applied. Weights that are not finite, or {@value TrainerApp#DIVERGED_AFTER_SKIPS} such steps in
     * a row with finite weights, mean the model diverged (one step's update made the weights too large for any batch):
     * skipping on would skip every batch from now on, so the trainer rolls back to the last good weights.
     */
    void skipped(NonFiniteStepException e) {
        skipStreak++;
        if (e.statistics().weightsFinite() && skipStreak < TrainerApp.DIVERGED_AFTER_SKIPS) {
            return;
        }
        String reason = e.statistics().weightsFinite() ? TrainerApp.DIVERGED : TrainerApp.NON_FINITE_WEIGHTS;
        if (trainer.step() == good.step()) {
            // nothing applied since the good state: the trainer is on those weights already (resumed from them)
            LOG.error("model {}: {} steps in a row were not finite ({}), and there is no earlier good state to roll back "
                    + "to than version {} (step {}), on which it stands; skipping on", modelId, skipStreak,
                    reason, good.version(), good.step());
            skipStreak = 0;
            return;
        }
        rollBack(reason, String.format("the weights of model %s diverged at step %d: %d steps in a row were not finite, "
                        + "the last with %s", modelId, trainer.step(), skipStreak,
                DeadLetters.cut(e.statistics().describe(), 1024)));
        skipStreak = 0;
    }

    /**
     * The weights and optimizer state a snapshot may publish: the trainer's, or, if they are not finite, those
     * of the good state it rolls back to.
     */
    Weights toPublish() {
        List<NamedTensor> parameters = trainer.parameters();
        List<NamedTensor> state = trainer.optimizerState();
        List<String> nonFinite = nonFinite(parameters);
        nonFinite.addAll(nonFinite(state));
        if (!nonFinite.isEmpty()) {
            rollBack(TrainerApp.NON_FINITE_WEIGHTS, String.format("the weights of model %s were not finite at step %d (%s "
                    + "hold NaN or infinite values)", modelId, trainer.step(), DeadLetters.cut(nonFinite.toString(), 512)));
            return new Weights(good.parameters(), good.optimizerState());
        }
        return new Weights(parameters, state);
    }

    /** {@code weights} were published as {@code version}: the new good state, unless in a run of non-finite steps. */
    void published(Weights weights, long version) {
        if (skipStreak == 0) {
            // weights in the middle of a run of non-finite steps may be diverged ones: not a state to go back to
            good = new GoodState(weights.parameters(), weights.optimizerState(), trainer.step(), trainer.samplesSeen(),
                    version, nextOffset());
        }
    }

    /**
     * The weights are not finite, or diverged: they are never published. The trainer goes back to the last
     * weights known good, those of the last snapshot (or of the start), and the batches since are dead-lettered
     * as one range. The snapshot about to be published carries those weights and covers those batches, so a
     * restarted trainer does not train them again (deterministic training would diverge the same way).
     */
    private void rollBack(String reason, String what) {
        long lost = trainer.step() - good.step();
        long to = nextOffset();
        String message = String.format("%s, so they were not published: the trainer rolled back to the weights and "
                        + "optimizer state of version %d (step %d), and the %d steps of the batches at offsets [%d, %d) of %s "
                        + "are not learned. Lower the learning rate; check the features of those batches", what,
                good.version(), good.step(), lost, good.nextOffset(), to, batches.partition());
        LOG.error("model {}: {}", modelId, message);
        trainer.loadParameters(good.parameters());
        trainer.loadOptimizerState(good.optimizerState()); // empty (no step before it): the state starts at zero again
        trainer.resumeAt(good.step(), good.samplesSeen());
        metrics.stepsSkipped(reason, lost);
        deadLetters.rolledBack(batches.partition(), good.nextOffset(), reason, message);
    }

    /** The next batch offset to read: after the last record handled, else where the trainer started reading. */
    private long nextOffset() {
        Long next = coverage.nextOffset(batches.partition());
        return next != null ? next : good.nextOffset();
    }

    /** Names of the tensors holding a NaN or an infinity (a mutable list). */
    static List<String> nonFinite(List<NamedTensor> tensors) {
        List<String> out = new ArrayList<>();
        for (NamedTensor t : tensors) {
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    out.add(t.name());
                    break;
                }
            }
        }
        return out;
    }
}
