package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.HeldOutResult;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvalTrackerTest {

    @Test
    void shouldGoOnFromTheResultsASnapshotCarried() {
        // Given results of two rounds, one sample evaluated again at a later step
        EvalTracker evals = new EvalTracker();
        evals.record("e1", 0, "t0", 0, 0, 100);
        evals.record("e2", 1, "t0", 0, 0, 100);
        evals.record("e3", 2, "t1", 2, 0, 100);
        evals.record("e2", 1, "t0", 1, 1, 300);

        // When they are carried in a snapshot and a new tracker starts from them
        List<HeldOutResult> carried = evals.toAvro();
        EvalTracker resumed = new EvalTracker();
        resumed.record("stale", 3, "t9", 0, 0, 50);
        resumed.restore(carried);

        // Then the resumed tracker reports exactly what the first one does
        assertThat(carried).extracting(HeldOutResult::getSampleId).containsExactly("e1", "e2", "e3");
        assertThat(resumed.size()).isEqualTo(3);
        assertThat(resumed.accuracy()).isEqualTo(evals.accuracy()).isEqualTo(1.0);
        assertThat(resumed.byTask()).isEqualTo(evals.byTask());
        assertThat(resumed.byClass()).isEqualTo(evals.byClass());
        assertThat(resumed.latestStep()).isEqualTo(300L);
    }

    @Test
    void shouldCarryAtMostTheMostRecentlyEvaluatedResults() {
        EvalTracker evals = new EvalTracker();
        for (int i = 0; i < EvalTracker.MAX_CARRIED + 5; i++) {
            evals.record(String.format("e%06d", i), 0, "t0", 0, 0, i);
        }
        List<HeldOutResult> carried = evals.toAvro();
        assertThat(carried).hasSize(EvalTracker.MAX_CARRIED);
        assertThat(carried).extracting(HeldOutResult::getStep).doesNotContain(0L, 4L).contains(5L, (long) EvalTracker.MAX_CARRIED + 4);
        assertThat(new EvalTracker().latestStep()).isNull();
    }
}
