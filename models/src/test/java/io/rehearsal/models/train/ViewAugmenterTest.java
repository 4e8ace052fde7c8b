package io.rehearsal.models.train;

import io.rehearsal.models.runtime.TorchRuntime;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.rehearsal.models.net.ModelSpec;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ViewAugmenterTest {
    private static final ModelSpec FLAT_IMAGE = ModelSpec.mlp(784, 10).withOption("image", "1x28x28");

    /** A 28x28 "garment": a bright blob with texture, as in Fashion-MNIST. */
    private static float[] image(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[784];
        for (int y = 4; y < 24; y++) {
            for (int c = 6; c < 22; c++) {
                x[y * 28 + c] = 0.3f + 0.7f * (float) r.nextDouble();
            }
        }
        return x;
    }

    @Test
    void shouldMakeViewsOfA28x28ImageThatDifferFromEachOtherAndFromTheAnchor() {
        Engine engine = TorchRuntime.engine(1, 1);
        TorchRuntime.seed(engine, 1, 1);
        ViewAugmenter augmenter = new ViewAugmenter(FLAT_IMAGE, AugmentSettings.defaults());
        try (NDManager m = NDManager.newBaseManager()) {
            // Given one image repeated as 4 rows (the R = 4 views of one item)
            float[] img = image(3);
            float[] rows = new float[4 * 784];
            for (int v = 0; v < 4; v++) {
                System.arraycopy(img, 0, rows, v * 784, 784);
            }
            NDArray x = m.create(rows, new Shape(4, 784));
            // When the views are augmented
            float[] weak = augmenter.weak(x.get("0:1")).toFloatArray();
            float[] strong = augmenter.strong(x.get("1:4")).toFloatArray();
            // Then each strong view differs from the others and from the anchor in many pixels
            float[][] views = {weak, slice(strong, 0), slice(strong, 1), slice(strong, 2)};
            for (int a = 0; a < views.length; a++) {
                for (int b = a + 1; b < views.length; b++) {
                    assertThat(meanAbsDiff(views[a], views[b])).as("views %d and %d", a, b).isGreaterThan(0.02);
                }
            }
            // and the weak view stays close to the image (at most a 1-pixel shift)
            assertThat(weak).hasSize(784);
            assertThat(sum(weak)).isGreaterThan(0.7 * sum(img));
        }
    }

    @Test
    void shouldShiftContentWithZeroFillRatherThanWrapAround() {
        Engine engine = TorchRuntime.engine(1, 1);
        TorchRuntime.seed(engine, 2, 5);
        ViewAugmenter augmenter = new ViewAugmenter(FLAT_IMAGE, new AugmentSettings(0, 3, 0f, 0f, 0f, 0f));
        try (NDManager m = NDManager.newBaseManager()) {
            // Given a single bright pixel in the centre, 64 times
            float[] rows = new float[64 * 784];
            for (int v = 0; v < 64; v++) {
                rows[v * 784 + 14 * 28 + 14] = 1f;
            }
            float[] out = augmenter.strong(m.create(rows, new Shape(64, 784))).toFloatArray();
            // Then every view still has exactly one bright pixel, within 3 pixels of the centre, and shifts vary
            java.util.Set<Integer> positions = new java.util.HashSet<>();
            for (int v = 0; v < 64; v++) {
                int found = -1;
                for (int p = 0; p < 784; p++) {
                    if (out[v * 784 + p] == 1f) {
                        assertThat(found).isEqualTo(-1);
                        found = p;
                    }
                }
                assertThat(Math.abs(found / 28 - 14)).isLessThanOrEqualTo(3);
                assertThat(Math.abs(found % 28 - 14)).isLessThanOrEqualTo(3);
                positions.add(found);
            }
            assertThat(positions.size()).isGreaterThan(10);
        }
    }

    @Test
    void shouldLeaveInputsAloneWithoutAugmentation() {
        TorchRuntime.engine(1, 1);
        ViewAugmenter augmenter = new ViewAugmenter(FLAT_IMAGE, AugmentSettings.none());
        try (NDManager m = NDManager.newBaseManager()) {
            float[] img = image(4);
            NDArray x = m.create(img, new Shape(1, 784));
            assertThat(augmenter.weak(x).toFloatArray()).containsExactly(img);
            assertThat(augmenter.strong(x).toFloatArray()).containsExactly(img);
        }
    }

    private static float[] slice(float[] a, int row) {
        return java.util.Arrays.copyOfRange(a, row * 784, (row + 1) * 784);
    }

    private static double meanAbsDiff(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }

    private static double sum(float[] a) {
        double s = 0;
        for (float v : a) {
            s += v;
        }
        return s;
    }
}
