package io.rehearsal.streams;

import static io.rehearsal.streams.Given.MODEL;
import static io.rehearsal.streams.Given.ids;
import static io.rehearsal.streams.Given.item;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.Tier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.Test;

/** Human feedback: LABEL, CONFIRM, REJECT, before or after the sample, conflicts and expiry. */
class FeedbackTest {

    @Test
    void shouldTrainOnTheCorrectedLabelWhenTheLabelArrivedBeforeItsSample() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            // Given a LABEL for s0 that arrives before s0
            curator.feedback(Given.label("s0", 5, 1));
            assertThat(curator.batches()).isEmpty();
            // When s0 arrives with the producer's label 3
            curator.sample(sample("s0", 3));
            curator.sample(sample("s1", 3));
            // Then it is trained fresh with the corrected label, version 1
            TrainItem s0 = item(curator.batches().get(0), "s0");
            assertThat(s0.getRole()).isEqualTo(ItemRole.FRESH);
            assertThat(s0.getLabel()).isEqualTo(5);
            assertThat(s0.getLabelVersion()).isEqualTo(1);
        }
    }

    @Test
    void shouldKeepACorrectedSamplesPlaceAndScheduleAndRecallItWithItsNewLabel() {
        // Given s0 trained, in the long-term buffer, and due again at some step
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optIntervals(3, 3, 1).optIntervalGrowth(1.0))) {
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            curator.batches();
            assertThat(curator.longTermMembers(MODEL, 0)).contains("s0");
            long due = curator.entry("s0").due();
            // When an annotator relabels it as class 2 (corrections are not recalled at once: the default)
            curator.feedback(Given.label("s0", 2, 1));
            // Then it is not recalled ahead of the others: same due step, nothing in the correction tier
            assertThat(curator.schedule(MODEL, Tier.CORRECTION)).isEmpty();
            assertThat(curator.entry("s0").due()).isEqualTo(due);
            assertThat(curator.longTermMembers(MODEL, 0)).doesNotContain("s0");
            assertThat(curator.longTermMembers(MODEL, 2)).containsExactly("s0");
            // and its next recall carries the new label
            for (int i = 2; i < 12; i++) {
                curator.sample(sample("s" + i, 0));
            }
            TrainItem recalled = curator.batches().stream().flatMap(b -> b.getItems().stream())
                    .filter(it -> it.getSampleId().equals("s0")).findFirst().orElseThrow();
            assertThat(recalled.getRole()).isEqualTo(ItemRole.RECALL);
            assertThat(recalled.getLabel()).isEqualTo(2);
            assertThat(recalled.getLabelVersion()).isEqualTo(1);
        }
    }

    @Test
    void shouldReplayCorrectedSampleFirstWhenCorrectionsAreRecalled() {
        // Given one recall group per batch, corrections recalled at once, and a schedule that has fallen far behind
        CuratorSettings s = Given.settings().optBatchSize(4).optViews(1).optFreshShare(0.75)
                .optIntervals(2, 2, 1).optIntervalGrowth(1.0).optRecallCorrections(true);
        try (InProcessCurator curator = new InProcessCurator(s)) {
            for (int i = 0; i < 30; i++) {
                curator.sample(sample("s" + i, i % 3));
            }
            curator.batches();
            assertThat(curator.schedule(MODEL, Tier.LONG).stream().filter(d -> d.due() <= curator.model(MODEL).step()))
                    .hasSizeGreaterThan(10);
            // When an annotator corrects s29, trained just now and not due for a while
            curator.feedback(Given.label("s29", 9, 1));
            curator.sample(sample("x0", 0));
            curator.sample(sample("x1", 0));
            curator.sample(sample("x2", 0));
            // Then the next batch recalls s29 first, ahead of every overdue sample, with its new label
            TrainBatch next = curator.batches().get(0);
            assertThat(ids(next, ItemRole.RECALL)).containsExactly("s29");
            TrainItem corrected = item(next, "s29");
            assertThat(corrected.getLabel()).isEqualTo(9);
            assertThat(corrected.getLabelVersion()).isEqualTo(1);
            assertThat(corrected.getRecallCount()).isZero();
            // and after that recall it goes back to the ordinary schedule, its recall count going on
            assertThat(curator.schedule(MODEL, Tier.CORRECTION)).isEmpty();
            assertThat(curator.entry("s29").recallCount()).isEqualTo(1);
        }
    }

    @Test
    void shouldRecallAnEvictedSampleAtOnceWhenCorrectionsAreRecalledWithoutForcingItBackIntoTheBuffer() {
        // Given M = 2 and a0 evicted from the buffer by the arrival of classes 1 and 2 (still in the short-term store)
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLongTermCapacity(2).optRecallCorrections(true))) {
            curator.sample(sample("a0", 0));
            curator.sample(sample("a1", 0));
            curator.sample(sample("b0", 1));
            curator.sample(sample("b1", 1));
            String evicted = curator.entry("a0").inLongTerm() ? "a1" : "a0";
            assertThat(curator.entry(evicted).inLongTerm()).isFalse();
            curator.batches();
            List<String> classOne = curator.longTermMembers(MODEL, 1);
            // When an annotator relabels it as class 1
            curator.feedback(Given.label(evicted, 1, 1));
            // Then the buffer is still the reservoir's: the correction took no member's place
            assertThat(curator.entry(evicted).inLongTerm()).isFalse();
            assertThat(curator.longTermMembers(MODEL, 1)).isEqualTo(classOne);
            // and it is recalled in the next batch with its new label, ahead of any other recall
            curator.sample(sample("c0", 1));
            curator.sample(sample("c1", 1));
            TrainBatch next = curator.batches().get(0);
            assertThat(ids(next, ItemRole.RECALL)).startsWith(evicted);
            assertThat(item(next, evicted).getLabel()).isEqualTo(1);
        }
    }

    @Test
    void shouldMoveABufferedSampleToItsNewClassWhenItIsCorrected() {
        // Given s0 trained and in the long-term buffer under class 0
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optIntervals(1, 1, 1).optIntervalGrowth(1.0))) {
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            curator.batches();
            assertThat(curator.longTermMembers(MODEL, 0)).contains("s0");
            // When an annotator relabels it as class 3, a class the buffer has room for
            curator.feedback(Given.label("s0", 3, 1));
            // Then it leaves class 0 and is offered to class 3's reservoir, which keeps it
            assertThat(curator.longTermMembers(MODEL, 0)).containsExactly("s1");
            assertThat(curator.longTermMembers(MODEL, 3)).containsExactly("s0");
            assertThat(curator.entry("s0").label()).isEqualTo(3);
        }
    }

    @Test
    void shouldAdmitAnUnlabeledRequestWhenItGetsALabel() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            // Given a prediction request (no label): it never trains
            curator.sample(Given.request("r0"));
            curator.sample(sample("s0", 1));
            assertThat(curator.batches()).isEmpty();
            // When an annotator labels it
            curator.feedback(Given.label("r0", 4, 1));
            // Then it is trained as a fresh sample with that label
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).hasSize(1);
            assertThat(ids(batches.get(0), ItemRole.FRESH)).containsExactly("s0", "r0");
            assertThat(item(batches.get(0), "r0").getLabel()).isEqualTo(4);
            assertThat(item(batches.get(0), "r0").getLabelVersion()).isEqualTo(1);
        }
    }

    @Test
    void shouldRemoveARejectedSampleAndKeepItOut() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optIntervals(1, 1, 1).optIntervalGrowth(1.0))) {
            // Given s0 trained and buffered
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            assertThat(curator.entry("s0").inLongTerm()).isTrue();
            // When it is rejected
            curator.feedback(Given.reject("s0", 1));
            // Then it is gone from every store and never trained again
            assertThat(curator.entry("s0")).isNull();
            assertThat(curator.longTermMembers(MODEL, 0)).containsExactly("s1");
            assertThat(curator.schedule(MODEL, Tier.LONG)).extracting(DueEntry::sampleId).doesNotContain("s0");
            for (int i = 2; i < 12; i++) {
                curator.sample(sample("s" + i, 0));
            }
            assertThat(curator.batches().subList(1, 6)).flatExtracting(Given::ids).doesNotContain("s0").contains("s1");
            // and when s0 is sent again, or gets more feedback, that goes to the dead letters
            curator.sample(sample("s0", 0));
            curator.feedback(Given.label("s0", 2, 5));
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason)
                    .containsExactly("SAMPLE_REJECTED", "SAMPLE_REJECTED");
            assertThat(curator.rejected("s0")).isTrue();
        }
    }

    @Test
    void shouldKeepOutASampleRejectedBeforeItArrived() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            curator.feedback(Given.reject("s0", 1));
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            curator.sample(sample("s2", 0));
            assertThat(curator.batches()).flatExtracting(Given::ids).containsExactly("s1", "s2");
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason).containsExactly("SAMPLE_REJECTED");
        }
    }

    @Test
    void shouldForgetARejectionAfterItsRetention() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optRejectedRetention(Duration.ofHours(1)))) {
            curator.sample(sample("s0", 0));
            curator.feedback(Given.reject("s0", 1));
            curator.advance(Duration.ofHours(2));
            curator.sample(sample("s1", 0));
            assertThat(curator.rejected("s0")).isFalse();
        }
    }

    @Test
    void shouldLetTheLatestEventTimeWinAndBreakTiesByTrust() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            // Given a LABEL 1 given at t = 10 s
            curator.feedback(Given.label("s0", 1, 10));
            assertThat(curator.entry("s0").label()).isEqualTo(1);
            // When a LABEL 2 given earlier (t = 5 s) arrives later
            curator.feedback(Given.label("s0", 2, 5));
            // Then it does not override the newer one
            assertThat(curator.entry("s0").label()).isEqualTo(1);
            // When a LABEL 3 at the same time but from a less trusted annotator arrives
            curator.feedback(Given.feedback("s0", FeedbackKind.LABEL, 3, 10, 0.4f));
            assertThat(curator.entry("s0").label()).isEqualTo(1);
            // When a LABEL 4 at the same time and trust arrives, the last one wins
            curator.feedback(Given.label("s0", 4, 10));
            assertThat(curator.entry("s0").label()).isEqualTo(4);
            assertThat(curator.entry("s0").labelVersion()).isEqualTo(2);
        }
    }

    @Test
    void shouldResolveConflictsAmongFeedbackWaitingForItsSample() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            // Given a REJECT at t = 20 s and then a LABEL from t = 10 s, both before the sample
            curator.feedback(Given.reject("s0", 20));
            curator.feedback(Given.label("s0", 4, 10));
            // and a LABEL at t = 10 s followed by a newer REJECT for another sample
            curator.feedback(Given.label("s1", 4, 10));
            curator.feedback(Given.reject("s1", 30));
            // When the samples arrive
            curator.sample(sample("s0", 0));
            curator.sample(sample("s1", 0));
            curator.sample(sample("s2", 0));
            curator.sample(sample("s3", 0));
            // Then the newest feedback decided: both are kept out
            assertThat(curator.batches()).flatExtracting(Given::ids).containsExactly("s2", "s3");
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason).containsExactly("SAMPLE_REJECTED", "SAMPLE_REJECTED");
        }
    }

    @Test
    void shouldDeadLetterFeedbackWhoseSampleNeverArrives() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optPendingExpiry(Duration.ofMinutes(5)))) {
            // Given a LABEL for a sample the curator never sees
            byte[] key = "ghost".getBytes(StandardCharsets.UTF_8);
            byte[] payload = Given.json("{\"sampleId\":\"ghost\",\"kind\":\"LABEL\",\"label\":3}");
            curator.feedback(key, payload);
            // When 4 minutes pass, it still waits
            curator.advance(Duration.ofMinutes(4));
            curator.sample(sample("s0", 0));
            assertThat(curator.deadLetters()).isEmpty();
            // When 6 minutes have passed (stream time moves with the next record)
            curator.advance(Duration.ofMinutes(2));
            curator.sample(sample("s1", 0));
            // Then it goes to the dead letters, with where it came from and its original bytes
            List<KeyValue<byte[], DeadLetter>> letters = curator.deadLetterRecords();
            assertThat(letters).hasSize(1);
            DeadLetter d = letters.get(0).value;
            assertThat(d.getReason()).isEqualTo("FEEDBACK_EXPIRED");
            assertThat(d.getSourceTopic()).endsWith(".feedback");
            assertThat(d.getSourceOffset()).isZero();
            assertThat(d.getPayload().array()).isEqualTo(payload);
            assertThat(letters.get(0).key).isEqualTo(key);
            assertThat(d.getMessage()).contains("ghost");
        }
    }

    @Test
    void shouldBoundTheFeedbackWaitingForSamples() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optPendingCapacity(2))) {
            curator.feedback(Given.label("u0", 1, 1));
            curator.feedback(Given.label("u1", 1, 1));
            curator.feedback(Given.label("u0", 2, 2)); // replaces u0's: still two waiting
            curator.feedback(Given.label("u2", 1, 1));
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason).containsExactly("FEEDBACK_OVERFLOW");
            // and the waiting ones still apply when their samples come
            curator.sample(sample("u0", 0));
            curator.sample(sample("u1", 0));
            List<TrainItem> items = new ArrayList<>(curator.batches().get(0).getItems());
            assertThat(items).extracting(TrainItem::getLabel).containsExactly(2, 1);
        }
    }

    @Test
    void shouldTrainACorrectionWithinLingerWhenNoFreshSampleArrivesAndCorrectionsAreRecalled() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optLinger(Duration.ofSeconds(2)).optRecallCorrections(true))) {
            // Given four samples, trained in two full batches, and then a quiet stream
            for (int i = 0; i < 4; i++) {
                curator.sample(sample("s" + i, 1));
            }
            assertThat(curator.batches()).hasSize(2);
            // When s0's label is corrected and no sample follows
            curator.feedback(Given.label("s0", 5, 1));
            curator.advance(Duration.ofSeconds(1));
            assertThat(curator.batches()).as("not before linger").isEmpty();
            curator.advance(Duration.ofMillis(1500));

            // Then a replay batch carries the correction with its new label, without waiting for traffic
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).hasSize(1);
            TrainItem corrected = item(batches.get(0), "s0");
            assertThat(corrected.getRole()).isEqualTo(ItemRole.RECALL);
            assertThat(corrected.getLabel()).isEqualTo(5);
            assertThat(corrected.getLabelVersion()).isEqualTo(1);
            assertThat(ids(batches.get(0), ItemRole.FRESH)).isEmpty();
            // and once it is trained, the quiet stream stays quiet
            curator.advance(Duration.ofSeconds(5));
            assertThat(curator.batches()).isEmpty();
        }
    }
}
