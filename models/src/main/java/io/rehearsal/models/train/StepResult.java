package io.rehearsal.models.train;

/**
 * What one training step did.
 *
 * @param step          1-based step number after this step
 * @param items         view groups (distinct items) in the batch
 * @param views         views trained on (rows of the forward pass)
 * @param freshItems    fresh items predicted before the step (prequential)
 * @param freshCorrect  how many of them were predicted right
 * @param crossEntropy  mean cross-entropy over all views
 * @param consistency   mean KL(anchor || view) over the non-anchor views, before lambda
 * @param lambda        weight of the consistency term this step
 * @param loss          crossEntropy + lambda * consistency
 * @param nanos         wall time of the step
 */
public record StepResult(long step, int items, int views, int freshItems, int freshCorrect, double crossEntropy,
                         double consistency, float lambda, double loss, long nanos) {
}
