package io.rehearsal.models.train;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a training step saw, gathered when a step is skipped ({@link NonFiniteStepException}) to tell its
 * causes apart: inputs out of range (max |input|), a model that diverged (weights not finite), or one
 * batch that the current weights cannot take (large logits or gradients).
 *
 * @param step          the step number the batch would have had
 * @param items         distinct items in the batch
 * @param views         rows of the forward pass (all views)
 * @param crossEntropy  mean cross-entropy over the views
 * @param consistency   mean KL term, before lambda
 * @param lambda        weight of the KL term this step
 * @param gradientNorm  global L2 norm of all parameter gradients; negative when the loss check stopped the step
 *                      before the backward pass
 * @param maxAbsInput   largest |feature| of the batch's items as given
 * @param maxAbsView    largest |value| of the augmented views fed to the network
 * @param maxAbsLogit   largest |logit|
 * @param weightsFinite whether every weight was finite before the step
 * @param labels        rows (views) per class in the batch
 */
public record StepStatistics(long step, int items, int views, double crossEntropy, double consistency, float lambda,
                             double gradientNorm, double maxAbsInput, double maxAbsView, double maxAbsLogit,
                             boolean weightsFinite, Map<Long, Integer> labels) {
    public StepStatistics {
        labels = Map.copyOf(labels);
    }

    /** Rows per class of {@code rowLabels}. */
    static Map<Long, Integer> labelCounts(long[] rowLabels) {
        Map<Long, Integer> counts = new TreeMap<>();
        for (long y : rowLabels) {
            counts.merge(y, 1, Integer::sum);
        }
        return counts;
    }

    /** One line for logs and dead letters. */
    public String describe() {
        return String.format(Locale.ROOT, "cross-entropy %s, consistency %s, lambda %s, gradient norm %s, max |input| %s, "
                        + "max |view| %s, max |logit| %s, weights %s, %d items, %d views, views per class %s",
                number(crossEntropy), number(consistency), number(lambda), gradientNorm < 0 ? "not computed" : number(gradientNorm), number(maxAbsInput),
                number(maxAbsView), number(maxAbsLogit), weightsFinite ? "finite" : "NOT finite", items, views,
                new TreeMap<>(labels));
    }

    private static String number(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4g", v) : Double.toString(v);
    }
}
