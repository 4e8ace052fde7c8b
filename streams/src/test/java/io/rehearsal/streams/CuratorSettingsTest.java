package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CuratorSettingsTest {
    @Test
    void shouldDeriveGroupsFreshShareAndTheNaturalBaseInterval() {
        CuratorSettings s = CuratorSettings.defaults();
        assertThat(s.groups()).isEqualTo(64);
        assertThat(s.freshGroups()).isEqualTo(8);
        assertThat(s.recallGroups()).isEqualTo(56);
        // I_0 = R * M / (rho_rep * B) = 2 * 2000 / (0.875 * 128) = 35.7 -> 36
        assertThat(s.resolvedBaseInterval()).isEqualTo(36);
        assertThat(s.resolvedMaxInterval()).isEqualTo(4 * 36);
    }

    @Test
    void shouldRoundTheFreshGroupsUp() {
        assertThat(CuratorSettings.defaults().optViews(4).optFreshShare(0.3).freshGroups()).isEqualTo(10); // ceil(9.6)
        assertThat(CuratorSettings.defaults().optFreshShare(1.0).recallGroups()).isZero();
    }

    @Test
    void shouldSplitCapacitiesAcrossShards() {
        CuratorSettings s = CuratorSettings.defaults().optLongTermCapacity(1000).optInputPartitions(3);
        assertThat(s.shardLongTermCapacity()).isEqualTo(334);
        assertThat(s.resolvedBaseInterval()).isEqualTo(6); // 2 * 334 / (0.875 * 128) = 5.96
    }

    @Test
    void shouldCopyWithOneSettingChanged() {
        CuratorSettings s = CuratorSettings.defaults().optViews(1).optSeed(7);
        assertThat(s.batches().views()).isEqualTo(1);
        assertThat(s.seed()).isEqualTo(7);
        assertThat(s.batches().size()).isEqualTo(CuratorSettings.defaults().batches().size());
        assertThat(s.memory()).isEqualTo(CuratorSettings.defaults().memory());
    }

    @Test
    void shouldDescribeEverySettingFromTheRecordsThemselves() {
        var d = CuratorSettings.defaults().optModelIds("fashion", "other").describe();

        assertThat(d).containsEntry("batches.views", "2").containsEntry("memory.longTermCapacity", "2000")
                .containsEntry("emission.linger", "PT2S").containsEntry("models.ids", "[fashion,other]")
                .containsEntry("models.contract.inputShape", "[784]").containsEntry("intervals.resolvedBase", "36")
                .containsEntry("seed", "42");
        // one entry per leaf component of every nested record, and the two resolved intervals
        int leaves = 0;
        for (var c : CuratorSettings.class.getRecordComponents()) {
            leaves += c.getType().isRecord() ? c.getType().getRecordComponents().length : 1;
        }
        leaves += ModelContract.class.getRecordComponents().length - 1; // models.contract is a record too
        assertThat(d).hasSize(leaves + 2);
    }

    @Test
    void shouldRefuseInvalidSettingsWithAMessageThatSaysWhy() {
        assertThatThrownBy(() -> CuratorSettings.defaults().optViews(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of views 3");
        assertThatThrownBy(() -> CuratorSettings.defaults().optFreshShare(0))
                .hasMessageContaining("freshShare");
        assertThatThrownBy(() -> CuratorSettings.defaults().optIntervals(10, 5, 1))
                .hasMessageContaining("maxInterval 5 must be >= baseInterval 10");
        assertThatThrownBy(() -> CuratorSettings.defaults().optPendingExpiry(Duration.ZERO))
                .hasMessageContaining("pendingExpiry");
        assertThatThrownBy(() -> CuratorSettings.defaults().optIntervalGrowth(0.5))
                .hasMessageContaining("intervalGrowth");
    }
}
