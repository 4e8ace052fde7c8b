package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The same input and seed give the same batches. */
class DeterminismTest {
    private static final CuratorSettings SETTINGS = Given.settings().optLongTermCapacity(30).optShortTermRecalls(1)
            .optShortTermCapacity(50).optJitter(0.2).optIntervals(3, 24, 1).optIntervalGrowth(1.5)
            .optLinger(Duration.ofSeconds(5)).optEvalEverySteps(25).optPendingExpiry(Duration.ofMinutes(2));

    private record Output(List<TrainBatch> batches, List<DeadLetter> deadLetters) {
    }

    private static Output run(CuratorSettings settings, boolean persistent, long streamSeed) {
        try (InProcessCurator curator = new InProcessCurator(settings, Given.T0, CuratorMetrics.discarding(), persistent)) {
            List<TrainBatch> batches = new ArrayList<>();
            List<DeadLetter> letters = new ArrayList<>();
            for (RandomStream.Event e : RandomStream.of(streamSeed, 1500, 6, true)) {
                e.apply(curator);
                batches.addAll(curator.batches());
                letters.addAll(curator.deadLetters());
            }
            return new Output(batches, letters);
        }
    }

    @Test
    void shouldEmitTheSameBatchesAndDeadLettersForTheSameInputAndSeed() {
        Output first = run(SETTINGS, false, 11);
        Output second = run(SETTINGS, false, 11);
        assertThat(first.batches()).hasSizeGreaterThan(300);
        assertThat(first.deadLetters()).extracting(DeadLetter::getReason)
                .contains("BAD_MARKER", "FEEDBACK_EXPIRED", "SAMPLE_REJECTED");
        assertThat(second).isEqualTo(first);
    }

    @Test
    void shouldScheduleDifferentlyWithAnotherSeed() {
        Output first = run(SETTINGS, false, 11);
        Output other = run(SETTINGS.optSeed(43), false, 11);
        assertThat(other.batches()).hasSameSizeAs(first.batches()).isNotEqualTo(first.batches());
    }

    @Test
    void shouldEmitTheSameWithRocksDbStoresAsWithInMemoryStores() {
        Output inMemory = run(SETTINGS, false, 12);
        Output rocksDb = run(SETTINGS, true, 12);
        assertThat(rocksDb).isEqualTo(inMemory);
    }
}
