package io.rehearsal.models.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

/** Assertions on named tensors shared by the models tests. */
public final class TensorAssertions {
    private TensorAssertions() {
    }

    /** The same tensors, by name and in order, with the same values bit for bit. */
    public static void assertBitIdentical(List<NamedTensor> actual, List<NamedTensor> expected) {
        assertThat(actual).extracting(NamedTensor::name)
                .containsExactlyElementsOf(expected.stream().map(NamedTensor::name).toList());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).data()).as(expected.get(i).name()).containsExactly(expected.get(i).data());
        }
    }
}
