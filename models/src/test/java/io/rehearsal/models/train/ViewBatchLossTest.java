package io.rehearsal.models.train;

import io.rehearsal.models.runtime.TorchRuntime;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class ViewBatchLossTest {

    @Test
    void shouldComputeCrossEntropyOverAllViewsAndKlFromTheAnchor() {
        Engine engine = TorchRuntime.engine(1, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            // Given 1 item with 2 views: anchor logits (2, 0), view logits (0, 0), label 0
            NDArray logits = m.create(new float[] {2, 0, 0, 0}, new Shape(2, 2));
            NDArray labels = m.create(new long[] {0, 0});
            ViewBatchLoss.Parts parts = ViewBatchLoss.compute(logits, labels, 1, m.create(new long[] {0}), 0.5f);
            double pa = Math.exp(2) / (Math.exp(2) + 1);
            double ceAnchor = -Math.log(pa);
            double ceView = Math.log(2);
            double kl = pa * Math.log(pa / 0.5) + (1 - pa) * Math.log((1 - pa) / 0.5);
            assertThat((double) parts.crossEntropy().getFloat()).isCloseTo((ceAnchor + ceView) / 2, within(1e-5));
            assertThat((double) parts.consistency().getFloat()).isCloseTo(kl, within(1e-5));
            assertThat((double) parts.total().getFloat()).isCloseTo((ceAnchor + ceView) / 2 + 0.5 * kl, within(1e-5));
        }
    }

    @Test
    void shouldStopTheGradientOfTheAnchorInTheKlTerm() {
        Engine engine = TorchRuntime.engine(1, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            // Given logits as a leaf that records gradients: anchor row then one view row
            NDArray logits = m.create(new float[] {2, 0, 0, 1}, new Shape(2, 2));
            logits.setRequiresGradient(true);
            NDArray labels = m.create(new long[] {1, 1});
            float[] withKl;
            float[] withoutKl;
            try (GradientCollector gc = engine.newGradientCollector()) {
                gc.backward(ViewBatchLoss.compute(logits, labels, 1, m.create(new long[] {0}), 10f).total());
            }
            withKl = logits.getGradient().toFloatArray();
            NDArray again = m.create(new float[] {2, 0, 0, 1}, new Shape(2, 2));
            again.setRequiresGradient(true);
            try (GradientCollector gc = engine.newGradientCollector()) {
                gc.backward(ViewBatchLoss.compute(again, labels, 1, m.create(new long[] {0}), 0f).total());
            }
            withoutKl = again.getGradient().toFloatArray();
            // Then the anchor row's gradient is the cross-entropy's alone, whatever lambda is
            assertThat(withKl[0]).isEqualTo(withoutKl[0]);
            assertThat(withKl[1]).isEqualTo(withoutKl[1]);
            // and the view row's gradient changes with lambda (the KL pulls it toward the anchor)
            assertThat(withKl[2]).isNotEqualTo(withoutKl[2]);
        }
    }

    @Test
    void shouldGiveEveryClassTheSameShareOfTheCrossEntropyWhenClassBalanced() {
        // Given 3 rows of class 0 and 1 row of class 1
        float[] w = ItemRows.classBalancedWeights(new long[] {0, 0, 1, 0});

        // Then each class's rows weigh 1/2 in total, and the weights sum to 1
        assertThat((double) w[0] + w[1] + w[3]).isCloseTo(0.5, within(1e-6));
        assertThat((double) w[2]).isCloseTo(0.5, within(1e-6));
        assertThat(ItemRows.classBalancedWeights(new long[] {4, 4})).containsExactly(0.5f, 0.5f);

        Engine engine = TorchRuntime.engine(1, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            // and the loss is the weighted sum of the rows' cross-entropy (no views: no KL)
            NDArray logits = m.create(new float[] {2, 0, 2, 0, 2, 0, 0, 0}, new Shape(4, 2));
            NDArray labels = m.create(new long[] {0, 0, 0, 1});
            float[] weights = ItemRows.classBalancedWeights(new long[] {0, 0, 0, 1});
            ViewBatchLoss.Parts parts = ViewBatchLoss.compute(logits, labels, 4, null, 0f, m.create(weights));
            double ce0 = -Math.log(Math.exp(2) / (Math.exp(2) + 1));
            assertThat((double) parts.crossEntropy().getFloat()).isCloseTo(0.5 * ce0 + 0.5 * Math.log(2), within(1e-5));
            // while unweighted it is the plain mean
            ViewBatchLoss.Parts plain = ViewBatchLoss.compute(logits, labels, 4, null, 0f);
            assertThat((double) plain.crossEntropy().getFloat()).isCloseTo(0.75 * ce0 + 0.25 * Math.log(2), within(1e-5));
        }
    }
}
