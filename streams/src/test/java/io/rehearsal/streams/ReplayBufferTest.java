package io.rehearsal.streams;

import static io.rehearsal.streams.Given.MODEL;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.Tier;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The class-balanced long-term buffer, driven through the real topology. */
class ReplayBufferTest {

    /** Occupancy per class of the long-term buffer. */
    private static Map<Integer, Integer> occupancy(InProcessCurator curator) {
        return new TreeMap<>(curator.model(MODEL).occupancyByClass());
    }

    @Test
    void shouldShrinkEveryClassQuotaAsNewClassesAppear() {
        // Given M = 6 and six samples of class 0, all in the buffer
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLongTermCapacity(6))) {
            for (int i = 0; i < 6; i++) {
                curator.sample(sample("a" + i, 0));
            }
            assertThat(occupancy(curator)).isEqualTo(Map.of(0, 6));

            // When two samples of class 1 arrive
            curator.sample(sample("b0", 1));
            curator.sample(sample("b1", 1));
            // Then class 0 is trimmed to its new quota of 3 and class 1 holds both
            assertThat(occupancy(curator)).isEqualTo(Map.of(0, 3, 1, 2));

            // When a third class appears
            curator.sample(sample("c0", 2));
            curator.sample(sample("c1", 2));
            // Then every class holds M / 3 = 2
            assertThat(occupancy(curator)).isEqualTo(Map.of(0, 2, 1, 2, 2, 2));
            // and only members are on the long-term schedule
            List<String> members = List.of(0, 1, 2).stream()
                    .flatMap(c -> curator.longTermMembers(MODEL, c).stream()).toList();
            assertThat(curator.schedule(MODEL, Tier.LONG)).extracting(DueEntry::sampleId)
                    .containsExactlyInAnyOrderElementsOf(members);
        }
    }

    @Test
    void shouldKeepAReservoirSampleOfTheWholeStreamWithinEachClass() {
        // Given M = 20 over two classes: a quota of 10 each
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLongTermCapacity(20))) {
            // When 600 samples of each class stream through
            for (int i = 0; i < 600; i++) {
                curator.sample(sample("a" + i, 0));
                curator.sample(sample("b" + i, 1));
            }
            // Then each class holds exactly its quota, drawn from early and late in the stream alike
            assertThat(occupancy(curator)).isEqualTo(Map.of(0, 10, 1, 10));
            for (String prefix : List.of("a", "b")) {
                List<Integer> arrivals = curator.longTermMembers(MODEL, prefix.equals("a") ? 0 : 1).stream()
                        .map(id -> Integer.parseInt(id.substring(1))).toList();
                assertThat(arrivals).anyMatch(i -> i < 300).anyMatch(i -> i >= 300);
                assertThat(arrivals).doesNotHaveDuplicates();
                assertThat(arrivals.stream().filter(i -> i < 20).count()).isLessThan(10); // not just the first ones
            }
        }
    }

    @ParameterizedTest(name = "corrected sample {0}")
    @ValueSource(strings = {"a0", "a1"})
    void shouldNeverEvictASampleWhoseCorrectionIsPending(String corrected) {
        // Given M = 2 holding a0 and a1 of class 0, and corrections recalled at once
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLongTermCapacity(2).optRecallCorrections(true))) {
            curator.sample(sample("a0", 0));
            curator.sample(sample("a1", 0));
            assertThat(curator.longTermMembers(MODEL, 0)).containsExactlyInAnyOrder("a0", "a1");
            // When one of them gets a LABEL correction (still class 0) and, before it is recalled, class 1
            // appears and halves class 0's quota
            curator.feedback(Given.label(corrected, 0, 1));
            curator.sample(sample("b0", 1));
            curator.sample(sample("b1", 1));
            // Then the corrected sample stays and the other one is evicted
            assertThat(curator.longTermMembers(MODEL, 0)).containsExactly(corrected);
        }
    }

    @ParameterizedTest(name = "confirmed sample {0}")
    @ValueSource(strings = {"a0", "a1"})
    void shouldEvictAnUnconfirmedSampleBeforeAConfirmedOne(String confirmed) {
        // Given M = 2 holding a0 and a1 of class 0, one of them confirmed by an annotator
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLongTermCapacity(2))) {
            curator.sample(sample("a0", 0));
            curator.sample(sample("a1", 0));
            curator.feedback(Given.confirm(confirmed, 1));
            assertThat(curator.entry(confirmed).priority()).isEqualTo(1);
            // When class 1 appears and class 0 must give up a slot
            curator.sample(sample("b0", 1));
            curator.sample(sample("b1", 1));
            // Then the confirmed sample is kept
            assertThat(curator.longTermMembers(MODEL, 0)).containsExactly(confirmed);
        }
    }

    @Test
    void shouldNeverAdmitUnlabeledRequestsOrEvalSamples() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            // Given prediction requests and held-out samples among the stream
            for (int i = 0; i < 10; i++) {
                curator.sample(Given.request("r" + i));
                curator.sample(Given.eval("e" + i, i % 2));
                curator.sample(sample("s" + i, i % 2));
            }
            // Then only the labeled TRAIN samples are in the buffer and the batches
            List<String> members = List.of(0, 1).stream().flatMap(c -> curator.longTermMembers(MODEL, c).stream()).toList();
            assertThat(members).hasSize(10).allMatch(id -> id.startsWith("s"));
            assertThat(curator.batches()).flatExtracting(Given::ids).allMatch(id -> id.startsWith("s"));
            // while the requests wait in the short-term store for feedback
            assertThat(curator.entry("r3")).isNotNull();
            assertThat(curator.entry("r3").inShortTerm()).isTrue();
        }
    }

    @Test
    void shouldBoundTheShortTermStoreByCountAndHandEvictedSamplesOver() {
        // Given a short-term store of 4 samples and K_short = 5 (more recalls than the store allows)
        CuratorSettings s = Given.settings().optShortTermCapacity(4).optShortTermRecalls(5).optIntervals(50, 50, 1);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            // When 10 samples arrive
            for (int i = 0; i < 10; i++) {
                curator.sample(sample("s" + i, 0));
            }
            // Then only the 4 most recent stay in the short-term store
            assertThat(curator.model(MODEL).shortTermSize()).isEqualTo(4);
            assertThat(curator.entry("s0").inShortTerm()).isFalse();
            assertThat(curator.entry("s9").inShortTerm()).isTrue();
            // and the evicted ones were handed over to the long-term buffer before their short-term recalls ended
            assertThat(curator.entry("s0").inLongTerm()).isTrue();
            assertThat(curator.schedule(MODEL, Tier.LONG)).extracting(DueEntry::sampleId).contains("s0", "s5");
            assertThat(curator.schedule(MODEL, Tier.SHORT)).extracting(DueEntry::sampleId).containsOnly("s6", "s7", "s8", "s9");
        }
    }

    @Test
    void shouldEvictShortTermSamplesOlderThanTheMaxAge() {
        // Given a short-term max age of 10 minutes
        CuratorSettings s = Given.settings().optShortTermMaxAge(java.time.Duration.ofMinutes(10)).optShortTermRecalls(3)
                .optLongTermCapacity(0);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            curator.sample(sample("old0", 0));
            curator.sample(sample("old1", 0));
            curator.sample(Given.request("r0"));
            // When 11 minutes pass and a new sample moves stream time on
            curator.advance(java.time.Duration.ofMinutes(11));
            curator.sample(sample("new0", 1));
            curator.sample(sample("new1", 1));
            // Then the old samples have left (with no long-term buffer they are gone), the new ones stay
            assertThat(curator.entry("old0")).isNull();
            assertThat(curator.entry("r0")).isNull();
            assertThat(curator.entry("new0").inShortTerm()).isTrue();
            assertThat(curator.model(MODEL).shortTermSize()).isEqualTo(2);
            assertThat(curator.schedule(MODEL, Tier.SHORT)).extracting(DueEntry::sampleId).containsOnly("new0", "new1");
        }
    }
}
