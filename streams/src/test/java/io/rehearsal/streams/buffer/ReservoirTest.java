package io.rehearsal.streams.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.streams.random.Seeds;
import org.junit.jupiter.api.Test;

class ReservoirTest {
    @Test
    void shouldKeepEveryOfferWhileUnderQuota() {
        assertThat(Reservoir.slotFor(1, 3, 0, 12345L)).isZero();
        assertThat(Reservoir.slotFor(3, 3, 2, 12345L)).isEqualTo(2);
    }

    @Test
    void shouldReplaceASlotWithProbabilityQuotaOverSeen() {
        // Given a class at its quota of 10 that has seen 99 offers
        int kept = 0;
        int trials = 100_000;
        for (int t = 0; t < trials; t++) {
            // When the 100th offer arrives
            int slot = Reservoir.slotFor(100, 10, 10, Seeds.hash(1, "t", t));
            if (slot != Reservoir.REJECT) {
                assertThat(slot).isBetween(0, 9);
                kept++;
            }
        }
        // Then it is kept about 10% of the time
        assertThat(kept / (double) trials).isCloseTo(0.10, org.assertj.core.data.Offset.offset(0.005));
    }

    @Test
    void shouldHoldAUniformSampleOfTheWholeStream() {
        // Given a reservoir of 100 fed 10,000 offers, many times over
        int quota = 100;
        int n = 10_000;
        long[] keptByDecile = new long[10];
        for (int run = 0; run < 50; run++) {
            int[] slots = new int[quota];
            for (int i = 0; i < n; i++) {
                int slot = Reservoir.slotFor(i + 1, quota, Math.min(i, quota), Seeds.hash(run, "offer", i));
                if (slot != Reservoir.REJECT) {
                    slots[slot] = i;
                }
            }
            for (int s : slots) {
                keptByDecile[s * 10 / n]++;
            }
        }
        // Then every tenth of the stream holds about a tenth of the reservoir (500 of 5,000)
        for (long k : keptByDecile) {
            assertThat(k).isBetween(420L, 580L);
        }
    }
}
