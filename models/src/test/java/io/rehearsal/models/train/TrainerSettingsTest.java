package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.rehearsal.models.net.ModelSpec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TrainerSettingsTest {
    private static TrainerSettings.Builder builder() {
        return TrainerSettings.builder("m", ModelSpec.mlp(4, 2, 8));
    }

    @Test
    void shouldRefuseARecallShedAgeAtOrPastTheMaximumBatchAge() {
        // a batch past the maximum age is shed whole, so such a pack would never be trained
        assertThatIllegalArgumentException()
                .isThrownBy(() -> builder().optRecallShedAge(Duration.ofSeconds(2)).optMaxBatchAge(Duration.ofSeconds(2)).build())
                .withMessageContaining("must be below maxBatchAge");
        assertThatIllegalArgumentException().isThrownBy(() -> builder().optRecallShedAge(Duration.ofSeconds(-1)).build());
    }

    @Test
    void shouldTakeEitherOverloadPolicyAloneOrBothInOrder() {
        assertThat(builder().optRecallShedAge(Duration.ofMillis(500)).build().recallShedAge()).hasMillis(500);
        assertThat(builder().optMaxBatchAge(Duration.ofSeconds(1)).build().recallShedAge()).isZero();
        TrainerSettings both = builder().optRecallShedAge(Duration.ofMillis(500)).optMaxBatchAge(Duration.ofSeconds(2)).build();
        assertThat(both.toProvenance()).containsEntry("recallShedAge", "PT0.5S").containsEntry("maxBatchAge", "PT2S");
    }
}
