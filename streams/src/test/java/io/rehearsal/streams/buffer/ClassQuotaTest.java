package io.rehearsal.streams.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ClassQuotaTest {
    @Test
    void shouldGiveOneClassTheWholeCapacity() {
        assertThat(ClassQuota.of(200, Set.of(7), 7)).isEqualTo(200);
    }

    @Test
    void shouldShrinkEveryQuotaAsClassesAppear() {
        assertThat(ClassQuota.of(200, Set.of(0, 1), 0)).isEqualTo(100);
        assertThat(ClassQuota.of(200, Set.of(0, 1, 2, 3), 0)).isEqualTo(50);
    }

    @Test
    void shouldGiveTheRemainderToTheLowestClassIdsSoQuotasAddUpToCapacity() {
        List<Integer> classes = List.of(4, 1, 9);
        assertThat(ClassQuota.of(10, classes, 1)).isEqualTo(4);
        assertThat(ClassQuota.of(10, classes, 4)).isEqualTo(3);
        assertThat(ClassQuota.of(10, classes, 9)).isEqualTo(3);
    }

    @Test
    void shouldRefuseAClassThatWasNotSeen() {
        assertThatThrownBy(() -> ClassQuota.of(10, Set.of(0), 3)).hasMessageContaining("class 3");
    }
}
