package io.rehearsal.streams;

import static io.rehearsal.streams.Given.MODEL;
import static io.rehearsal.streams.Given.ids;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import static io.rehearsal.schemas.avro.ItemRole.FRESH;
import static io.rehearsal.schemas.avro.ItemRole.RECALL;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** When batches are emitted, how they are numbered, and the eval rounds. */
class BatchEmissionTest {

    @Test
    void shouldEmitABatchAsSoonAsEnoughFreshSamplesWait() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            curator.sample(sample("s0", 0));
            assertThat(curator.batches()).isEmpty();
            curator.sample(sample("s1", 0));
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).hasSize(1);
            TrainBatch b = batches.get(0);
            assertThat(b.getKind()).isEqualTo(BatchKind.TRAIN);
            assertThat(b.getViews()).isEqualTo(2);
            assertThat(b.getItems()).extracting(TrainItem::getGroupId).containsExactly(0, 1);
            assertThat(b.getItems()).allSatisfy(i -> assertThat(i.getViews()).isEqualTo(2));
        }
    }

    @Test
    void shouldEmitAPartialBatchAfterTheLinger() {
        // Given a linger of 2 s and a single fresh sample (a full batch needs 2)
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLinger(Duration.ofSeconds(2)))) {
            curator.sample(sample("s0", 0));
            // When 1 s passes, nothing is emitted
            curator.advance(Duration.ofSeconds(1));
            assertThat(curator.batches()).isEmpty();
            // When 2 s have passed, the partial batch goes out
            curator.advance(Duration.ofMillis(1100));
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).hasSize(1);
            assertThat(ids(batches.get(0))).containsExactly("s0");
            assertThat(batches.get(0).getCreatedTime()).isAfterOrEqualTo(Given.T0.plusSeconds(2));
        }
    }

    @Test
    void shouldComposeFreshOnlyBatchesWhileTheInputLagsAndNormalOnesOnceItCatchesUp() {
        // Given fresh-only batches past a 1 s input lag (G = 4 groups, 2 fresh + 2 recalls normally, recalls filled)
        CuratorSettings s = Given.settings().optFillRecalls(true).optIntervals(1, 4, 1).optFreshOnlyLag(Duration.ofSeconds(1));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (InProcessCurator curator = new InProcessCurator(s, Given.T0, new CuratorMetrics(registry), false)) {
            // When 8 samples come on time, 8 read 5 s after they were sent, then 4 on time again
            for (int i = 0; i < 8; i++) {
                curator.sample(sample("a" + i, i % 2));
            }
            List<TrainBatch> onTime = curator.batches();
            curator.advance(Duration.ofSeconds(10));
            for (int i = 0; i < 8; i++) {
                curator.sample(sample("b" + i, i % 2), curator.now().minusSeconds(5));
            }
            List<TrainBatch> behind = curator.batches();
            for (int i = 0; i < 4; i++) {
                curator.sample(sample("c" + i, i % 2));
            }
            List<TrainBatch> caughtUp = curator.batches();

            // Then on time a batch holds 2 fresh samples and 2 recalls (the first has nothing to recall yet)
            assertThat(onTime).hasSize(4);
            assertThat(roles(onTime.get(0))).containsExactly(FRESH, FRESH);
            assertThat(onTime.subList(1, 4)).allSatisfy(b -> assertThat(roles(b)).containsExactly(FRESH, FRESH, RECALL, RECALL));
            // behind, each batch holds 4 fresh samples and no recall: 8 samples in 2 batches, every one fresh once
            assertThat(behind).hasSize(2).allSatisfy(b -> assertThat(roles(b)).containsExactly(FRESH, FRESH, FRESH, FRESH));
            assertThat(behind.stream().flatMap(b -> ids(b).stream()).toList())
                    .containsExactly("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7");
            // and caught up, batches are as before
            assertThat(caughtUp).hasSize(2).allSatisfy(b -> assertThat(roles(b)).containsExactly(FRESH, FRESH, RECALL, RECALL));
            // and the overload is counted
            assertThat(registry.get("rehearsal.curator.overload.batches").counter().count()).isEqualTo(2);
            assertThat(registry.get("rehearsal.curator.overload.samples").counter().count()).isEqualTo(8);
        }
    }

    @Test
    void shouldComposeNormalBatchesBehindTheInputWhenFreshOnlyIsOff() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optFillRecalls(true).optIntervals(1, 4, 1))) {
            for (int i = 0; i < 8; i++) {
                curator.sample(sample("a" + i, i % 2), curator.now().minusSeconds(60));
            }
            assertThat(curator.batches()).hasSize(4).allSatisfy(b -> assertThat(roles(b)).startsWith(FRESH, FRESH)
                    .hasSizeLessThanOrEqualTo(4));
        }
    }

    private static List<ItemRole> roles(TrainBatch b) {
        return b.getItems().stream().map(TrainItem::getRole).toList();
    }

    @Test
    void shouldNotReplayWhileIdleByDefault() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            for (int i = 0; i < 20; i++) {
                curator.sample(sample("s" + i, i % 2));
            }
            curator.batches();
            curator.advance(Duration.ofMinutes(10));
            assertThat(curator.batches()).isEmpty();
        }
    }

    @Test
    void shouldEmitReplayOnlyBatchesOfDueRecallsWhileIdleWhenEnabled() {
        // Given idle replay every second and a schedule that has fallen behind (one recall group per batch)
        CuratorSettings s = Given.settings().optBatchSize(4).optViews(1).optFreshShare(0.75)
                .optIntervals(1, 1, 1).optIntervalGrowth(1.0).optIdleReplay(Duration.ofSeconds(1));
        try (InProcessCurator curator = new InProcessCurator(s)) {
            for (int i = 0; i < 12; i++) {
                curator.sample(sample("s" + i, i % 3));
            }
            assertThat(curator.batches()).hasSize(4);
            // When the stream is idle for a second
            curator.advance(Duration.ofSeconds(1));
            // Then a batch of recalls only (all four groups) is emitted
            List<TrainBatch> idle = curator.batches();
            assertThat(idle).hasSize(1);
            assertThat(ids(idle.get(0), ItemRole.FRESH)).isEmpty();
            assertThat(ids(idle.get(0), ItemRole.RECALL)).hasSize(4);
            assertThat(idle.get(0).getSequence()).isEqualTo(4);
        }
    }

    @Test
    void shouldNumberBatchesPerModelAndReportTheHighestSampleOffset() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optModelIds("a", "b"))) {
            for (int i = 0; i < 8; i++) {
                curator.sample(Given.sample(i % 2 == 0 ? "a" : "b", "s" + i, 1));
            }
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).extracting(TrainBatch::getBatchId).containsExactly("a/0/0", "b/0/0", "a/0/1", "b/0/1");
            assertThat(batches).extracting(TrainBatch::getSequence).containsExactly(0L, 0L, 1L, 1L);
            assertThat(batches).extracting(TrainBatch::getSampleOffset).containsExactly(2L, 3L, 6L, 7L);
            assertThat(batches).extracting(TrainBatch::getShard).containsOnly(0);
            assertThat(batches.get(0).getItems().get(0).getSourceOffset()).isZero();
        }
    }

    @Test
    void shouldEmitTheEvalSetEveryNStepsAndNeverTrainOnIt() {
        // Given B = 4 (at most 4 eval items per batch; G = 2 groups, one fresh), an eval round every 3 steps,
        // and 3 eval samples kept per class
        CuratorSettings s = Given.settings().optBatchSize(4).optViews(2).optFreshShare(0.5)
                .optEvalCapacityPerClass(3).optEvalEverySteps(3);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            // When 5 EVAL samples of class 0 and 2 of class 1 arrive among the training stream
            for (int i = 0; i < 5; i++) {
                curator.sample(Given.eval("e0-" + i, 0));
            }
            curator.sample(Given.eval("e1-0", 1));
            curator.sample(Given.eval("e1-1", 1));
            for (int i = 0; i < 3; i++) {
                curator.sample(sample("s" + i, i % 2));
            }
            List<TrainBatch> batches = curator.batches();
            // Then after 3 TRAIN batches, the eval set (3 + 2 samples) follows in EVAL batches of at most 4
            assertThat(batches).extracting(TrainBatch::getKind)
                    .containsExactly(BatchKind.TRAIN, BatchKind.TRAIN, BatchKind.TRAIN, BatchKind.EVAL, BatchKind.EVAL);
            List<TrainBatch> eval = batches.subList(3, 5);
            assertThat(eval).allSatisfy(b -> {
                assertThat(b.getEvalRound()).isZero();
                assertThat(b.getViews()).isEqualTo(1);
                assertThat(b.getItems()).hasSizeLessThanOrEqualTo(4)
                        .allSatisfy(i -> {
                            assertThat(i.getRole()).isEqualTo(ItemRole.EVAL);
                            assertThat(i.getViews()).isEqualTo(1);
                        });
            });
            Set<String> held = eval.stream().flatMap(b -> ids(b).stream()).collect(Collectors.toSet());
            assertThat(held).hasSize(5).contains("e1-0", "e1-1");
            assertThat(held.stream().filter(id -> id.startsWith("e0-"))).hasSize(3);
            // and no eval sample is ever in a TRAIN batch
            assertThat(batches.subList(0, 3)).flatExtracting(Given::ids).allMatch(id -> id.startsWith("s"));
            assertThat(batches).extracting(TrainBatch::getSequence).containsExactly(0L, 1L, 2L, 3L, 4L);
            assertThat(curator.model(MODEL).step()).isEqualTo(3);
        }
    }
}
