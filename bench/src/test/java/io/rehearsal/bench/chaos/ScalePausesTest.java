package io.rehearsal.bench.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.chaos.ChaosPlan.Fault;
import org.junit.jupiter.api.Test;

/** The curator's pause after a scale event: the longest gap between batches in the 60 s after it. */
class ScalePausesTest {
    private static final long S = 1_000_000_000L;

    @Test
    void shouldMeasureTheLongestGapInTheWindowCountingFromTheEventToTheFirstBatch() {
        ScalePauses pauses = new ScalePauses();
        // Given batches every second, a scale-out at 10 s, then nothing until 14.5 s, then a 6 s gap at 30-36 s
        for (long t = 0; t <= 10; t++) {
            pauses.batch(t * S);
        }
        pauses.scaled(Fault.CURATOR_SCALE_OUT, 0.3, 10 * S + S / 2);
        pauses.batch(14 * S + S / 2);
        for (long t = 15; t <= 30; t++) {
            pauses.batch(t * S);
        }
        pauses.batch(36 * S);
        pauses.batch(80 * S); // after the window: a 44 s gap that does not count

        // When its window is not over yet, it stays open
        pauses.closeBefore(69 * S);
        assertThat(pauses.scales()).singleElement().satisfies(s -> assertThat(s.longestGapSeconds()).isNaN());

        // Then, closed, the longest gap is the 6 s one (the event to the first batch was 4 s)
        pauses.closeBefore(71 * S);
        assertThat(pauses.scales()).singleElement().satisfies(s -> {
            assertThat(s.fault()).isEqualTo(Fault.CURATOR_SCALE_OUT);
            assertThat(s.atProgress()).isEqualTo(0.3);
            assertThat(s.longestGapSeconds()).isEqualTo(6.0);
        });
    }

    @Test
    void shouldCutTheWindowShortAtTheEndOfTheRun() {
        ScalePauses pauses = new ScalePauses();
        pauses.batch(0);
        pauses.scaled(Fault.CURATOR_SCALE_IN, 0.6, S);
        pauses.batch(3 * S);
        pauses.batch(4 * S);

        pauses.closeAll();

        assertThat(pauses.scales()).singleElement().satisfies(s -> assertThat(s.longestGapSeconds()).isEqualTo(2.0));
    }
}
