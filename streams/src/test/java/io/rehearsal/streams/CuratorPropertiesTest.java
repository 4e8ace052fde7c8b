package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.buffer.ClassQuota;
import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.ModelState;
import java.util.HashMap;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Properties over long random streams, for any schedule sized within its capacity (the long-term
 * buffer's recall load M / I_0 at most a third of the recall groups, K_short at most 1):
 *
 * <ul>
 *   <li>no scheduled sample waits more than I_max + slack steps between two visits, and none is left
 *       overdue by more than the slack;</li>
 *   <li>every class holds at most its quota of the long-term buffer, at all times.</li>
 * </ul>
 */
class CuratorPropertiesTest {

    @Provide
    Arbitrary<Integer> views() {
        return Arbitraries.of(1, 2, 4);
    }

    @Provide
    Arbitrary<Double> growth() {
        return Arbitraries.of(1.0, 1.5, 2.0);
    }

    @Property(tries = 12, seed = "20261127")
    void shouldNeverLetADueSampleWaitBeyondIMaxPlusSlackAndKeepClassesWithinQuota(
            @ForAll @IntRange(min = 2, max = 8) int classes,
            @ForAll @IntRange(min = 8, max = 80) int capacity,
            @ForAll("views") int views,
            @ForAll @IntRange(min = 0, max = 1) int kShort,
            @ForAll("growth") double growth,
            @ForAll @IntRange(min = 0, max = 1_000_000) int seed) {
        CuratorSettings natural = Given.settings().optBatchSize(16).optViews(views).optFreshShare(0.25)
                .optLongTermCapacity(capacity).optShortTermRecalls(kShort).optLongTermShare(0.5)
                .optIntervals(0, 0, 1).optIntervalGrowth(growth).optJitter(0.1).optSeed(seed);
        long base = 3 * natural.resolvedBaseInterval();
        CuratorSettings settings = natural.optIntervals(base, 4 * base, 1);
        long maxInterval = settings.resolvedMaxInterval();
        long slack = settings.groups();

        try (InProcessCurator curator = new InProcessCurator(settings)) {
            Map<String, Long> lastVisit = new HashMap<>();
            for (RandomStream.Event event : RandomStream.of(seed, 2000, classes, false)) {
                event.apply(curator);
                for (TrainBatch b : curator.batches()) {
                    for (TrainItem item : b.getItems()) {
                        Long last = lastVisit.put(item.getSampleId(), b.getSequence());
                        if (item.getRole() == ItemRole.RECALL) {
                            assertThat(b.getSequence() - last).as("steps between visits of %s", item.getSampleId())
                                    .isLessThanOrEqualTo(maxInterval + slack);
                        }
                    }
                    ModelState ms = curator.model(Given.MODEL);
                    ms.occupancyByClass().forEach((cls, held) -> assertThat(held).as("class %d", cls)
                            .isLessThanOrEqualTo(ClassQuota.of(capacity, ms.offeredClasses(), cls)));
                }
            }
            long step = curator.model(Given.MODEL).step();
            for (Tier tier : Tier.values()) {
                assertThat(curator.schedule(Given.MODEL, tier)).allSatisfy(d ->
                        assertThat(step - d.due()).as("lateness of %s", d.sampleId()).isLessThanOrEqualTo(slack));
            }
            assertThat(step).isGreaterThan(100);
        }
    }
}
