package io.rehearsal.models.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;

/** Assertions on named tensors shared by the models tests. */
public final class TensorAssertions {
    private TensorAssertions() {
    }

    /**
     * The same tensors, by name and in order, with the same values bit for bit (as {@link Float#equals}: NaN equals
     * NaN, -0 does not equal 0). Compares with {@link Arrays#mismatch(float[], float[])} and reports the first element
     * that differs: AssertJ's {@code containsExactly} on a float array diffs it in quadratic time (TorchScriptResumeTest took 563 s
     * instead of 43 s with the example ResNet's dense layer of 100,000 weights).
     */
    public static void assertBitIdentical(List<NamedTensor> actual, List<NamedTensor> expected) {
        assertThat(actual).extracting(NamedTensor::name)
                .containsExactlyElementsOf(expected.stream().map(NamedTensor::name).toList());
        for (int i = 0; i < expected.size(); i++) {
            float[] a = actual.get(i).data();
            float[] e = expected.get(i).data();
            String name = expected.get(i).name();
            assertThat(a.length).as("%s: length", name).isEqualTo(e.length);
            int at = Arrays.mismatch(a, e);
            assertThat(at).as("%s: the first element that differs (actual %s, expected %s)", name,
                    at >= 0 ? a[at] : "-", at >= 0 ? e[at] : "-").isEqualTo(-1);
        }
    }
}
