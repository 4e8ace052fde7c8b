package io.rehearsal.bench.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.data.ClassIncrementalStream.Event;
import io.rehearsal.bench.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.FeedbackKind;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ClassIncrementalStreamTest {
    private static FashionMnist.Data data;

    @BeforeAll
    static void load() {
        data = FashionMnist.bundledSubset();
    }

    @Test
    void shouldReadTheBundledSubset() {
        assertThat(data.train().size()).isEqualTo(3000);
        assertThat(data.test().size()).isEqualTo(1000);
        assertThat(data.train().images()[0]).hasSize(784);
        assertThat(data.train().labels()).containsOnly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    }

    @Test
    void shouldStreamTasksInOrderWithTheirClassesOnly() {
        ClassIncrementalStream stream = ClassIncrementalStream.build(data, ClassIncrementalStream.Settings.splitFashionMnist(1));

        int lastTask = 0;
        for (Event e : stream.events()) {
            assertThat(e.task()).isGreaterThanOrEqualTo(lastTask);
            lastTask = e.task();
            if (e instanceof SampleEvent s) {
                assertThat(s.trueLabel() / 2).as("class of task").isEqualTo(s.task());
                assertThat(s.sample().getTask()).isEqualTo("t" + s.task());
            }
        }
        assertThat(lastTask).isEqualTo(4);
        assertThat(stream.tests()).hasSize(5);
        // 10% of each task's 200 test images are streamed as EVAL, the other 180 kept for the matrix
        long eval = stream.events().stream()
                .filter(e -> e instanceof SampleEvent s && s.sample().getSplit() == Split.EVAL).count();
        assertThat(eval).isEqualTo(5 * 20);
        assertThat(stream.tests().get(0).labels()).hasSize(180).containsOnly(0, 1);
    }

    @Test
    void shouldBeTheSameStreamForTheSameSeed() {
        var settings = ClassIncrementalStream.Settings.splitFashionMnist(7).withNoise(0.2, 0.5, 50).withRequests(0.05);

        List<String> a = ClassIncrementalStream.build(data, settings).events().stream().map(Event::key).toList();
        List<String> b = ClassIncrementalStream.build(data, settings).events().stream().map(Event::key).toList();
        List<String> c = ClassIncrementalStream.build(data, settings.withSeed(8)).events().stream().map(Event::key).toList();

        assertThat(a).isEqualTo(b).isNotEqualTo(c);
    }

    @Test
    void shouldCorrectFlippedLabelsAndLabelRequestsAfterTheDelay() {
        var settings = ClassIncrementalStream.Settings.splitFashionMnist(3).withNoise(0.2, 0.5, 50).withRequests(0.05);
        List<Event> events = ClassIncrementalStream.build(data, settings).events();

        Map<String, Integer> position = new HashMap<>();
        Map<String, SampleEvent> samples = new HashMap<>();
        int flipped = 0;
        int corrected = 0;
        int requests = 0;
        for (int i = 0; i < events.size(); i++) {
            Event e = events.get(i);
            if (e instanceof SampleEvent s) {
                position.put(s.key(), i);
                samples.put(s.key(), s);
                if (s.flipped()) {
                    flipped++;
                    assertThat(s.sample().getLabel()).isNotEqualTo(s.trueLabel());
                    assertThat(s.sample().getLabel() / 2).as("flipped within the task").isEqualTo(s.task());
                }
                if (s.sample().getLabel() == null) {
                    requests++;
                }
            } else if (e instanceof FeedbackEvent f) {
                SampleEvent s = samples.get(f.key());
                assertThat(s).as("feedback after its sample").isNotNull();
                assertThat(f.feedback().getLabel()).isEqualTo(s.trueLabel());
                boolean inFinalFlush = events.subList(i, events.size()).stream().allMatch(x -> x instanceof FeedbackEvent);
                if (!inFinalFlush) { // at the end of the stream, pending feedback follows the last sample at once
                    assertThat(i - position.get(f.key())).isGreaterThanOrEqualTo(50);
                }
                if (s.flipped()) {
                    corrected++;
                }
            }
        }
        assertThat(flipped).isBetween(400, 740);  // 20% of ~2850 labeled
        assertThat(corrected).isBetween(flipped / 3, 2 * flipped / 3);
        assertThat(requests).isBetween(80, 230);   // 5% of 3000
    }

    @Test
    void shouldKeepTheCleanStreamsOrderAndFlipTheSameSamplesAtHigherNoise() {
        // Given the clean stream and two noisy ones of the same seed
        var clean = ClassIncrementalStream.Settings.splitFashionMnist(5);
        List<Event> a = ClassIncrementalStream.build(data, clean).events();
        List<Event> ten = ClassIncrementalStream.build(data, clean.withNoise(0.1, 1.0, 100)).events();
        List<Event> thirty = ClassIncrementalStream.build(data, clean.withNoise(0.3, 1.0, 100)).events();

        // Then the samples come in the same order, and the samples flipped at 10% are flipped at 30% too
        assertThat(sampleIds(ten)).isEqualTo(sampleIds(a));
        assertThat(sampleIds(thirty)).isEqualTo(sampleIds(a));
        assertThat(flipped(thirty)).containsAll(flipped(ten)).hasSizeGreaterThan(2 * flipped(ten).size());
    }

    @Test
    void shouldStampEveryEventAfterTheOneBefore() {
        List<Event> events = ClassIncrementalStream.build(data, ClassIncrementalStream.Settings.splitFashionMnist(3)
                .withNoise(0.2, 0.5, 50).withRequests(0.05)).events();
        for (int i = 1; i < events.size(); i++) {
            assertThat(time(events.get(i))).as("event %d", i).isAfter(time(events.get(i - 1)));
        }
    }

    @Test
    void shouldRejectFlippedSamplesInsteadOfRelabelingThemWhenAsked() {
        List<Event> events = ClassIncrementalStream.build(data, ClassIncrementalStream.Settings.splitFashionMnist(3)
                .withNoise(0.2, 1.0, 50).withRequests(0.05).withCorrectionKind(FeedbackKind.REJECT)).events();
        Map<String, SampleEvent> samples = new HashMap<>();
        int rejects = 0;
        for (Event e : events) {
            if (e instanceof SampleEvent s) {
                samples.put(s.key(), s);
            } else if (e instanceof FeedbackEvent f) {
                SampleEvent s = samples.get(f.key());
                if (s.flipped()) {
                    assertThat(f.feedback().getKind()).isEqualTo(FeedbackKind.REJECT);
                    assertThat(f.feedback().getLabel()).isNull();
                    rejects++;
                } else {
                    // an unlabeled request is still labeled
                    assertThat(s.sample().getLabel()).isNull();
                    assertThat(f.feedback().getKind()).isEqualTo(FeedbackKind.LABEL);
                }
            }
        }
        assertThat(rejects).isEqualTo((int) samples.values().stream().filter(SampleEvent::flipped).count());
    }

    private static List<String> sampleIds(List<Event> events) {
        return events.stream().filter(e -> e instanceof SampleEvent).map(Event::key).toList();
    }

    private static java.util.Set<String> flipped(List<Event> events) {
        return events.stream().filter(e -> e instanceof SampleEvent s && s.flipped()).map(Event::key)
                .collect(java.util.stream.Collectors.toSet());
    }

    private static java.time.Instant time(Event e) {
        return e instanceof SampleEvent s ? s.sample().getEventTime() : ((FeedbackEvent) e).feedback().getEventTime();
    }

    @Test
    void shouldHoldOutASliceOfTheTrainingImagesInTheValidationProtocol() {
        // Given the validation protocol with 100 images per task
        var settings = ClassIncrementalStream.Settings.splitFashionMnist(5).withValidation(100);

        // When the stream is built
        ClassIncrementalStream stream = ClassIncrementalStream.build(data, settings);

        // Then each task's held-out images are 100 training images (10 streamed as EVAL, 90 for the matrix),
        // never streamed for training, and no test image is used at all
        java.util.Set<String> trained = new java.util.HashSet<>();
        java.util.Set<String> held = new java.util.HashSet<>();
        for (Event e : stream.events()) {
            if (e instanceof SampleEvent s) {
                (s.sample().getSplit() == Split.EVAL ? held : trained).add(s.key().substring(1));
                assertThat(s.key()).startsWith(s.sample().getSplit() == Split.EVAL ? "v" : "x");
            }
        }
        assertThat(held).hasSize(5 * 10).doesNotContainAnyElementsOf(trained);
        assertThat(trained).hasSize(3000 - 5 * 100);
        for (int t = 0; t < 5; t++) {
            assertThat(stream.tests().get(t).labels()).hasSize(90).containsOnly(2 * t, 2 * t + 1);
            assertThat(stream.trainCount(t)).isEqualTo(600 - 100);
        }
        java.util.Set<String> trainImages = new java.util.HashSet<>();
        for (byte[] img : data.train().images()) {
            trainImages.add(java.util.Arrays.toString(img));
        }
        for (var t : stream.tests()) {
            for (byte[] img : t.images()) {
                assertThat(trainImages).contains(java.util.Arrays.toString(img));
            }
        }
    }
}
