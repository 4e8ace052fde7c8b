package io.rehearsal.streams.recall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecallPolicyTest {
    @Test
    void shouldGrowIntervalsGeometricallyUpToTheMaximum() {
        // Given I_0 = 10, g = 2, I_max = 100, no jitter
        RecallPolicy p = new RecallPolicy(10, 100, 1, 2.0, 0, 42);
        // Then I_k = min(I_max, I_0 * g^k)
        assertThat(List.of(p.interval(0, 0.5), p.interval(1, 0.5), p.interval(2, 0.5), p.interval(3, 0.5),
                p.interval(4, 0.5), p.interval(9, 0.5))).containsExactly(10L, 20L, 40L, 80L, 100L, 100L);
    }

    @Test
    void shouldKeepTheIntervalFixedWhenGrowthIsOne() {
        RecallPolicy p = new RecallPolicy(25, 25, 1, 1.0, 0, 42);
        assertThat(p.interval(0, 0.3)).isEqualTo(25);
        assertThat(p.interval(7, 0.9)).isEqualTo(25);
    }

    @Test
    void shouldJitterWithinTheFractionAndStayWithinMinAndMax() {
        RecallPolicy p = new RecallPolicy(100, 150, 95, 1.0, 0.1, 42);
        assertThat(p.interval(0, 0.0)).isEqualTo(95);   // 90 clamped up to I_min
        assertThat(p.interval(0, 0.999)).isEqualTo(110);
        RecallPolicy capped = new RecallPolicy(100, 100, 1, 1.0, 0.1, 42);
        assertThat(capped.interval(0, 0.999)).isEqualTo(100); // never beyond I_max
    }

    @Test
    void shouldDrawTheSameJitterForTheSameSeedAndSample() {
        RecallPolicy a = new RecallPolicy(100, 400, 1, 2.0, 0.2, 7);
        RecallPolicy b = new RecallPolicy(100, 400, 1, 2.0, 0.2, 7);
        RecallPolicy other = new RecallPolicy(100, 400, 1, 2.0, 0.2, 8);
        assertThat(a.nextDue(50, 1, "m", "s1")).isEqualTo(b.nextDue(50, 1, "m", "s1"));
        long differing = java.util.stream.IntStream.range(0, 100)
                .filter(i -> a.nextDue(50, 1, "m", "s" + i) != other.nextDue(50, 1, "m", "s" + i)).count();
        assertThat(differing).isGreaterThan(50);
    }

    @Test
    void shouldMakeACorrectionDueNowButNotWithinTheMinimumInterval() {
        RecallPolicy p = new RecallPolicy(10, 100, 3, 2.0, 0, 42);
        assertThat(p.correctionDue(20, 5)).isEqualTo(20);
        assertThat(p.correctionDue(20, 19)).isEqualTo(22);
        assertThat(p.correctionDue(20, -1)).isEqualTo(20);
    }

    @Test
    void shouldRefuseInconsistentIntervals() {
        assertThatThrownBy(() -> new RecallPolicy(10, 5, 1, 2.0, 0, 1)).hasMessageContaining("I_max");
    }

    @Test
    void shouldOfferTheLongTermShareFirstAndGiveUnusedCapacityToTheOtherTier() {
        assertThat(RecallPolicy.split(24, 0.25, 100, 100)).isEqualTo(new RecallPolicy.Split(18, 6));
        assertThat(RecallPolicy.split(24, 0.25, 3, 100)).isEqualTo(new RecallPolicy.Split(3, 21));
        assertThat(RecallPolicy.split(24, 0.25, 100, 2)).isEqualTo(new RecallPolicy.Split(22, 2));
        assertThat(RecallPolicy.split(24, 0.25, 1, 2)).isEqualTo(new RecallPolicy.Split(1, 2));
    }

    @Test
    void shouldTakeClassesInTurnAndTheMostOverdueOfEachClass() {
        // Given class 0 with three entries due long ago and classes 1 and 2 with one each
        Map<Integer, List<DueEntry>> due = Map.of(
                0, List.of(e("a1", 0, 1), e("a2", 0, 2), e("a3", 0, 3)),
                1, List.of(e("b1", 1, 5)),
                2, List.of(e("c1", 2, 4)));
        // When five are taken with no class served before
        RecallPolicy.Selection s = RecallPolicy.roundRobin(due, 5, -1);
        // Then classes take turns, each giving its most overdue entry, until only class 0 is left
        assertThat(s.taken()).extracting(DueEntry::sampleId).containsExactly("a1", "b1", "c1", "a2", "a3");
        assertThat(s.lastClass()).isEqualTo(0);
    }

    @Test
    void shouldCarryTheRotationOverFromTheLastClassServed() {
        Map<Integer, List<DueEntry>> due = Map.of(
                0, List.of(e("a", 0, 1)), 1, List.of(e("b", 1, 7)), 2, List.of(e("c", 2, 7)));
        assertThat(RecallPolicy.roundRobin(due, 1, -1).taken()).extracting(DueEntry::sampleId).containsExactly("a");
        assertThat(RecallPolicy.roundRobin(due, 1, 0).taken()).extracting(DueEntry::sampleId).containsExactly("b");
        assertThat(RecallPolicy.roundRobin(due, 2, 1).taken()).extracting(DueEntry::sampleId).containsExactly("c", "a");
        assertThat(RecallPolicy.roundRobin(due, 1, 2).lastClass()).isZero();
    }

    private static DueEntry e(String id, int cls, long due) {
        return new DueEntry(id, cls, due);
    }
}
