package io.rehearsal.models.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import io.rehearsal.models.runtime.TorchRuntime;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** GroupNorm normalizes each (sample, group) over its channels and pixels, then scales and shifts per channel. */
class GroupNormTest {

    @Test
    void shouldNormalizeEachGroupOfEachSampleToZeroMeanAndUnitVariance() {
        TorchRuntime.engine(1, 1);
        try (Model model = Model.newInstance("gn", TorchRuntime.ENGINE); NDManager m = model.getNDManager().newSubManager()) {
            // Given 2 samples of 4 channels of 3x3, in 2 groups, gamma = 1 and beta = 0
            GroupNorm norm = new GroupNorm(2);
            norm.setInitializer(Initializer.ONES, ai.djl.nn.Parameter.Type.GAMMA);
            norm.setInitializer(Initializer.ZEROS, ai.djl.nn.Parameter.Type.BETA);
            norm.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(2, 4, 3, 3));
            float[] x = new float[2 * 4 * 9];
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextDouble() * 10 - 3);
            }
            NDArray in = m.create(x, new Shape(2, 4, 3, 3));

            // When it runs
            float[] y = norm.forward(new ParameterStore(m, false), new NDList(in), false).singletonOrThrow().toFloatArray();

            // Then every (sample, group) block of 2 channels x 9 pixels equals (x - mean) / sqrt(var + 1e-5)
            for (int block = 0; block < 4; block++) {
                double mean = 0;
                for (int i = 0; i < 18; i++) {
                    mean += x[block * 18 + i];
                }
                mean /= 18;
                double var = 0;
                for (int i = 0; i < 18; i++) {
                    var += (x[block * 18 + i] - mean) * (x[block * 18 + i] - mean);
                }
                var /= 18;
                for (int i = 0; i < 18; i++) {
                    assertThat((double) y[block * 18 + i]).isCloseTo((x[block * 18 + i] - mean) / Math.sqrt(var + 1e-5), within(1e-4));
                }
            }
        }
    }
}
