package io.rehearsal.models.train;

import io.rehearsal.models.runtime.TorchRuntime;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
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

    /**
     * Issue 14's diverging demo run: the consistency weight lambda entered the graph as a DJL scalar array
     * ({@code NDArray.mul(Number)}), which DJL builds over a direct buffer of its own and closes as soon as the
     * product is computed. libtorch's multiplication keeps that scalar for the backward pass, but the buffer
     * under it was no longer referenced from Java: a garbage collection between the forward and the backward
     * pass freed it, and the backward pass read whatever glibc wrote there (its free-list pointer: about 1e13 to
     * 1e31), so one step's gradients were huge or infinite with a perfectly normal loss, and the next step's
     * loss NaN. It only happened when a collection fell in that window (another thread allocating: the demo's
     * subscribers and evaluators), about one demo run in ten.
     */
    @Test
    void shouldGiveTheSameGradientsWhenTheGarbageCollectorRunsBetweenForwardAndBackward() {
        Engine engine = TorchRuntime.engine(1, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            // Given the gradients of a loss with its consistency term on, when nothing runs between the passes
            float[] expected = gradients(engine, m, false);
            for (float g : expected) {
                assertThat(g).isFinite();
            }

            // When the garbage collector runs (and frees unreachable direct buffers) between forward and backward
            for (int attempt = 0; attempt < 3; attempt++) {
                float[] actual = gradients(engine, m, true);

                // Then the gradients are exactly the same
                assertThat(actual).as("attempt %d", attempt).containsExactly(expected);
            }
        }
    }

    /** The logits' gradients of a 2-item, 4-view loss with lambda 1, optionally collecting garbage before backward. */
    private static float[] gradients(Engine engine, NDManager m, boolean collectGarbageBeforeBackward) {
        try (NDManager step = m.newSubManager()) {
            NDArray logits = step.create(new float[] {3, -1, 0, 0, 1, -2, 2, 1, -1, 0.5f, 0, 0}, new Shape(6, 2));
            logits.setRequiresGradient(true);
            NDArray labels = step.create(new long[] {0, 1, 0, 0, 1, 1});
            NDArray viewItem = step.create(new long[] {0, 0, 1, 1});
            try (GradientCollector gc = engine.newGradientCollector()) {
                NDArray total = ViewBatchLoss.compute(logits, labels, 2, viewItem, 1f).total();
                if (collectGarbageBeforeBackward) {
                    collectUnreachableDirectBuffers();
                }
                gc.backward(total);
            }
            return logits.getGradient().toFloatArray();
        }
    }

    /**
     * Runs the garbage collector until a direct buffer made unreachable here has been freed by its cleaner: those
     * that were unreachable before it (found in the same collection) are freed by then too.
     */
    private static void collectUnreachableDirectBuffers() {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).findFirst().orElseThrow();
        ByteBuffer sentinel = ByteBuffer.allocateDirect(1);
        long withSentinel = direct.getCount();
        sentinel = null;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (direct.getCount() >= withSentinel) {
            assertThat(System.nanoTime()).as("a collection freed the unreachable direct buffers").isLessThan(deadline);
            System.gc();
            Thread.onSpinWait();
        }
    }
}
