package io.rehearsal.models.train;

import java.util.List;

/**
 * A training step whose loss or gradients came out NaN or infinite, and which was therefore not applied:
 * the weights, the optimizer state and the step count are as they were before the batch. The batch is
 * to be skipped and dead-lettered like any other refused batch; {@link #statistics()} says what the step
 * saw, so the dead letter tells a bad input (huge features) from a model that diverged (weights not finite).
 * A skipped step is deterministic: the same weights and batch skip it again, so a resumed trainer skips it
 * too.
 */
public final class NonFiniteStepException extends InvalidBatchException {
    /** The loss (cross-entropy or consistency term) is not finite: checked before the backward pass. */
    public static final String LOSS = "NON_FINITE_LOSS";
    /** The loss is finite but the global gradient norm is not: checked before the optimizer step. */
    public static final String GRADIENT = "NON_FINITE_GRADIENT";
    /** Both reasons, e.g. to register a meter for each. */
    public static final List<String> REASONS = List.of(LOSS, GRADIENT);
    private static final long serialVersionUID = 1L;
    private final transient StepStatistics statistics;

    NonFiniteStepException(String reason, String modelId, String batchId, StepStatistics statistics) {
        super(reason, String.format("step %d of model %s not applied: %s on batch %s (%s); the model is unchanged and "
                        + "the batch is dead-lettered. One such batch points at its inputs (look at max |input|); many "
                        + "in a row, or weights not finite, at the training settings (lower the learning rate)",
                statistics.step(), modelId, reason.equals(LOSS) ? "the loss is not finite" : "the gradients are not finite",
                batchId, statistics.describe()));
        this.statistics = statistics;
    }

    /** What the skipped step saw. */
    public StepStatistics statistics() {
        return statistics;
    }
}
