package io.rehearsal.streams;

import static io.rehearsal.streams.Given.MODEL;
import static io.rehearsal.streams.Given.ids;
import static io.rehearsal.streams.Given.item;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.Tier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The view-batch recall schedule, driven through the real topology (TopologyTestDriver). */
class RecallScheduleTest {

    /**
     * Roomy settings: one fresh sample per step and 15 recall groups (B = 16, R = 1), so nothing waits
     * and every recall happens exactly when due. I_0 = 2, g = 2, I_max = 16, no jitter.
     */
    private static CuratorSettings roomy() {
        return Given.settings().optBatchSize(16).optViews(1).optFreshShare(1.0 / 16)
                .optIntervals(2, 16, 1).optIntervalGrowth(2.0);
    }

    /** Pushes one labeled sample per step (classes cycling through {@code classes}) and returns all batches. */
    private static List<TrainBatch> run(InProcessCurator curator, int steps, int classes) {
        return run(curator, 0, steps, classes);
    }

    /** Pushes samples s{from} .. s{to - 1}, one per step, and returns the batches they caused. */
    private static List<TrainBatch> run(InProcessCurator curator, int from, int to, int classes) {
        List<TrainBatch> batches = new ArrayList<>();
        for (int i = from; i < to; i++) {
            curator.sample(sample("s" + i, i % classes));
            batches.addAll(curator.batches());
        }
        return batches;
    }

    /** The steps (batch sequences) at which a sample was trained, and its role and recall count there. */
    private static List<String> visits(List<TrainBatch> batches, String id) {
        List<String> out = new ArrayList<>();
        for (TrainBatch b : batches) {
            TrainItem it = item(b, id);
            if (it != null) {
                out.add(b.getSequence() + ":" + it.getRole() + "/" + it.getRecallCount());
            }
        }
        return out;
    }

    @Test
    void shouldGrowTheRecallIntervalGeometricallyUpToIMax() {
        // Given I_0 = 2, g = 2, I_max = 16 and no short-term recalls
        try (InProcessCurator curator = new InProcessCurator(roomy())) {
            // When the stream runs for 50 steps
            List<TrainBatch> batches = run(curator, 50, 3);
            // Then s0 is trained fresh at step 0 and recalled after 2, 4, 8, 16, 16 steps
            assertThat(visits(batches, "s0")).containsExactly(
                    "0:FRESH/0", "2:RECALL/0", "6:RECALL/1", "14:RECALL/2", "30:RECALL/3", "46:RECALL/4");
        }
    }

    @Test
    void shouldRecallAtAFixedIntervalWhenGrowthIsOne() {
        // Given g = 1: the paper's fixed recall interval
        try (InProcessCurator curator = new InProcessCurator(roomy().optIntervals(5, 5, 1).optIntervalGrowth(1.0))) {
            List<TrainBatch> batches = run(curator, 30, 3);
            // Then every recall comes 5 steps after the previous visit
            assertThat(visits(batches, "s0")).containsExactly(
                    "0:FRESH/0", "5:RECALL/0", "10:RECALL/1", "15:RECALL/2", "20:RECALL/3", "25:RECALL/4");
        }
    }

    @Test
    void shouldRecallFromTheShortTermStoreKShortTimesThenHandOverToTheLongTermBuffer() {
        // Given K_short = 2 (and I_0 = 2, g = 2)
        try (InProcessCurator curator = new InProcessCurator(roomy().optShortTermRecalls(2))) {
            // When s0 has been trained fresh (step 0)
            List<TrainBatch> batches = new ArrayList<>(run(curator, 0, 1, 3));
            // Then it waits on the short-term schedule and is not in the long-term buffer yet
            assertThat(curator.schedule(MODEL, Tier.SHORT)).extracting(DueEntry::sampleId).containsExactly("s0");
            assertThat(curator.entry("s0").inLongTerm()).isFalse();

            // When it has been recalled once (step 2)
            batches.addAll(run(curator, 1, 3, 3));
            // Then it is still on the short-term schedule, with one recall
            assertThat(curator.entry("s0").recallCount()).isEqualTo(1);
            assertThat(curator.schedule(MODEL, Tier.SHORT)).extracting(DueEntry::sampleId).contains("s0");
            assertThat(batches.get(2).getStats().getShortTermRecalls()).isEqualTo(1);

            // When the stream goes on past its K_short-th recall (step 6)
            batches.addAll(run(curator, 3, 40, 3));
            // Then its short-term recalls came at steps 2 and 6 and its long-term ones later, at growing intervals
            assertThat(visits(batches, "s0")).containsExactly(
                    "0:FRESH/0", "2:RECALL/0", "6:RECALL/1", "14:RECALL/2", "30:RECALL/3");
            assertThat(batches.get(14).getStats().getLongTermRecalls()).isPositive();
            // and it lives in the long-term buffer, on the long-term schedule only
            assertThat(curator.entry("s0").inLongTerm()).isTrue();
            assertThat(curator.schedule(MODEL, Tier.LONG)).extracting(DueEntry::sampleId).contains("s0");
            assertThat(curator.schedule(MODEL, Tier.SHORT)).extracting(DueEntry::sampleId).doesNotContain("s0");
        }
    }

    @Test
    void shouldTrainEachSampleOnceWhenKShortIsZeroAndThereIsNoLongTermBuffer() {
        // Given K_short = 0 and M = 0: pure single-pass online learning
        try (InProcessCurator curator = new InProcessCurator(roomy().optLongTermCapacity(0).optShortTermRecalls(0))) {
            List<TrainBatch> batches = run(curator, 20, 3);
            // Then every batch holds only its fresh sample
            assertThat(batches).hasSize(20).allSatisfy(b -> assertThat(ids(b, ItemRole.RECALL)).isEmpty());
        }
    }

    @Test
    void shouldTakeDueRecallsRoundRobinAcrossClassesMostOverdueFirst() {
        // Given three fresh groups and one recall group per batch (B = 4, R = 1): the schedule falls behind
        CuratorSettings s = Given.settings().optBatchSize(4).optViews(1).optFreshShare(0.75)
                .optIntervals(1, 1, 1).optIntervalGrowth(1.0);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            // When 12 samples of class 0 arrive, then 3 each of classes 1, 2 and 3
            List<TrainBatch> batches = new ArrayList<>();
            IntStream.range(0, 12).forEach(i -> curator.sample(sample("a" + i, 0)));
            for (int i = 0; i < 3; i++) {
                curator.sample(sample("b" + i, 1));
                curator.sample(sample("c" + i, 2));
                curator.sample(sample("d" + i, 3));
            }
            IntStream.range(0, 12).forEach(i -> curator.sample(sample("e" + i, 4)));
            batches.addAll(curator.batches());
            // Then the single recall group serves the classes in turn (0, 1, 2, 3, 4, 0, 1, ...) and
            // within a class the most overdue entry: a0 is due again (at 2) before a3 (due at 2, arrived later)
            List<String> recalled = batches.stream().flatMap(b -> ids(b, ItemRole.RECALL).stream()).toList();
            assertThat(recalled.subList(0, 10)).containsExactly("a0", "a1", "a2", "a0", "b0", "c0", "d0", "e0", "a3", "b0");
        }
    }

    @Test
    void shouldNeverRecallASampleWithinIMinStepsOfItsLastVisit() {
        // Given I_min = 3, corrections recalled at once, and s0 trained at step 0
        try (InProcessCurator curator = new InProcessCurator(roomy().optIntervals(4, 16, 3).optRecallCorrections(true))) {
            List<TrainBatch> batches = new ArrayList<>(run(curator, 0, 2, 3));
            // When its label is corrected at step 2, which makes it due "now"
            curator.feedback(Given.label("s0", 7, 1));
            batches.addAll(run(curator, 2, 10, 3));
            // Then its correction is recalled at step 3 (= its last visit + I_min), not at step 2
            assertThat(visits(batches, "s0")).startsWith("0:FRESH/0", "3:RECALL/0");
            assertThat(item(batches.get(3), "s0").getLabel()).isEqualTo(7);
        }
    }

    @Test
    void shouldComposeTheSameGroupsWithOneViewAsWithRViews() {
        // Given the same stream and seed, once with R = 4 (B = 16) and once with R = 1 (B = 4)
        CuratorSettings viewBatch = Given.settings().optLongTermCapacity(12).optBatchSize(16).optViews(4)
                .optFreshShare(0.5).optIntervals(0, 0, 1).optIntervalGrowth(1.0).optJitter(0.2);
        CuratorSettings plain = viewBatch.optBatchSize(4).optViews(1);
        assertThat(plain.resolvedBaseInterval()).isEqualTo(viewBatch.resolvedBaseInterval());
        try (InProcessCurator a = new InProcessCurator(viewBatch); InProcessCurator b = new InProcessCurator(plain)) {
            List<TrainBatch> withViews = run(a, 60, 3);
            List<TrainBatch> oneView = run(b, 60, 3);
            // Then both choose the same samples for the same groups; only the number of views differs
            assertThat(oneView).extracting(Given::ids).isEqualTo(withViews.stream().map(Given::ids).toList());
            assertThat(withViews).allSatisfy(x -> assertThat(x.getItems()).allSatisfy(i -> assertThat(i.getViews()).isEqualTo(4)));
            assertThat(oneView).allSatisfy(x -> assertThat(x.getItems()).allSatisfy(i -> assertThat(i.getViews()).isEqualTo(1)));
        }
    }

    @Test
    void shouldReplayAFixedShareOfEveryBatchWithOneViewLikePlainExperienceReplay() {
        // Given R = 1, g = 1, the natural interval I_0 = R * M / (rho_rep * B) = 12 / (0.5 * 4) = 6, and
        // recall groups always filled (the buffer's turnover would otherwise leave some empty)
        CuratorSettings s = Given.settings().optLongTermCapacity(12).optBatchSize(4).optViews(1)
                .optFreshShare(0.5).optIntervals(0, 0, 1).optIntervalGrowth(1.0).optFillRecalls(true);
        assertThat(s.resolvedBaseInterval()).isEqualTo(6);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            // When the stream runs well past the time the buffer filled up
            List<TrainBatch> batches = run(curator, 200, 1);
            // Then every batch holds 2 fresh and 2 replayed samples, one view each, as plain replay would
            List<TrainBatch> steady = batches.subList(6, batches.size());
            assertThat(steady).allSatisfy(b -> {
                assertThat(ids(b, ItemRole.FRESH)).hasSize(2);
                assertThat(ids(b, ItemRole.RECALL)).hasSize(2);
                assertThat(b.getViews()).isEqualTo(1);
                assertThat(b.getItems()).allSatisfy(i -> assertThat(i.getViews()).isEqualTo(1));
            });
            // and replays spread evenly over the buffer: no sample waits much more than I_0 between visits
            assertThat(steady).allSatisfy(b -> assertThat(b.getStats().getMeanLatenessSteps()).isLessThanOrEqualTo(1.0));
            assertThat(curator.model(MODEL).longTermSize()).isEqualTo(12);
        }
    }
}
