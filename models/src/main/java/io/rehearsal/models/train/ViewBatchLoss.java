package io.rehearsal.models.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * The view-batch loss of one step:
 * <pre>
 *   loss = mean over all views v of CE(logits_v, y_v)
 *        + lambda * mean over non-anchor views v of KL(p_anchor(v) || p_v)
 * </pre>
 * where {@code p = softmax(logits)} and {@code anchor(v)} is view 0 of the item that view {@code v}
 * was built from. With row weights the cross-entropy is their weighted sum instead of the mean: the
 * trainer's class-balanced loss gives every class in the batch the same total weight. The anchor's distribution is a constant target (its gradient is stopped), so the
 * KL term pulls the strongly augmented views toward the weakly augmented anchor and never the other
 * way round.
 */
public final class ViewBatchLoss {
    private ViewBatchLoss() {
    }

    /**
     * The loss and its parts (scalars).
     *
     * @param total          {@code crossEntropy + lambda * consistency}: the array to differentiate
     * @param crossEntropy   mean cross-entropy over all views
     * @param consistency    mean KL(anchor || view) over the non-anchor views (0 when there are none)
     */
    public record Parts(NDArray total, NDArray crossEntropy, NDArray consistency) {
    }

    /**
     * @param logits   {@code [n + m, K]}: the n anchors (one per item, in item order) then the m other views
     * @param labels   {@code [n + m]} int64 class of each row
     * @param anchors  n
     * @param viewItem {@code [m]} int64: for each non-anchor view, the index of its item (its anchor row); null if m = 0
     * @param lambda   weight of the consistency term this step
     */
    public static Parts compute(NDArray logits, NDArray labels, int anchors, NDArray viewItem, float lambda) {
        return compute(logits, labels, anchors, viewItem, lambda, null);
    }

    /**
     * As {@link #compute(NDArray, NDArray, int, NDArray, float)}, with the cross-entropy a weighted mean:
     * {@code sum_v w_v CE_v} for row weights summing to 1 (null: the plain mean, every row 1/rows).
     *
     * @param rowWeights {@code [n + m]} float32 weights of the rows' cross-entropy, or null
     */
    public static Parts compute(NDArray logits, NDArray labels, int anchors, NDArray viewItem, float lambda,
                                NDArray rowWeights) {
        long rows = logits.getShape().get(0);
        long classes = logits.getShape().get(1);
        NDArray logp = logits.logSoftmax(1);
        NDArray picked = logp.gather(labels.reshape(rows, 1), 1).reshape(rows);
        NDArray crossEntropy = rowWeights == null ? picked.mean().neg() : picked.mul(rowWeights).sum().neg();
        if (viewItem == null || rows == anchors) {
            NDArray zero = crossEntropy.zerosLike();
            return new Parts(crossEntropy, crossEntropy, zero);
        }
        long views = rows - anchors;
        NDArray anchorLogp = logp.get("0:" + anchors).stopGradient();
        NDArray index = viewItem.reshape(views, 1).broadcast(views, classes);
        NDArray targetLogp = anchorLogp.gather(index, 0);
        NDArray viewLogp = logp.get(anchors + ":");
        NDArray consistency = targetLogp.exp().mul(targetLogp.sub(viewLogp)).sum(new int[] {1}).mean();
        NDArray total = lambda == 0 ? crossEntropy : crossEntropy.add(consistency.mul(scalar(logits, lambda)));
        return new Parts(total, crossEntropy, consistency);
    }

    /**
     * A scalar for an operation whose result is differentiated, in memory that libtorch owns, on the manager of
     * {@code like}. Never {@code NDArray.mul(Number)} there: DJL builds that scalar over a direct buffer of its own
     * and drops it as soon as the product is computed, but libtorch keeps the scalar for the backward pass; a
     * garbage collection in between frees the buffer, and the backward pass reads freed memory (issue 14: huge or
     * infinite gradients from a normal loss, then NaN, in about one demo run in ten).
     */
    static NDArray scalar(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, like.getDataType());
    }
}
