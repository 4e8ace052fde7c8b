package io.rehearsal.streams;

import io.rehearsal.schemas.avro.FeedbackKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A seeded random input stream for determinism and property tests: labeled samples in class-incremental
 * phases, prediction requests, held-out samples, feedback of every kind (some before its sample, some
 * for samples that never come), garbage records and clock moves.
 */
final class RandomStream {
    private RandomStream() {
    }

    /** One input: push it into a curator. */
    interface Event {
        void apply(InProcessCurator curator);
    }

    static List<Event> of(long seed, int samples, int classes, boolean withFeedback) {
        Random r = new Random(seed);
        List<Event> events = new ArrayList<>();
        int phases = Math.max(1, classes / 2);
        for (int i = 0; i < samples; i++) {
            String id = "s" + i;
            int phase = Math.min(phases - 1, i * phases / samples);
            int label = r.nextInt(10) < 8 ? Math.min(classes - 1, phase * 2 + r.nextInt(2)) : r.nextInt(classes);
            double roll = r.nextDouble();
            if (roll < 0.05) {
                events.add(c -> c.sample(Given.request(id)));
            } else if (roll < 0.08) {
                events.add(c -> c.sample(Given.eval(id, label)));
            } else if (roll < 0.09 && withFeedback) {
                byte[] junk = new byte[1 + r.nextInt(20)];
                r.nextBytes(junk);
                events.add(c -> c.sample(id.getBytes(java.nio.charset.StandardCharsets.UTF_8), junk));
            } else {
                events.add(c -> c.sample(Given.sample(id, label)));
            }
            if (withFeedback && r.nextDouble() < 0.15) {
                String target = "s" + Math.max(0, i - r.nextInt(200) + 20); // mostly past, some future samples
                FeedbackKind kind = FeedbackKind.values()[r.nextInt(3)];
                Integer fl = kind == FeedbackKind.LABEL ? r.nextInt(classes) : null;
                long second = r.nextInt(1000);
                float trust = 0.1f + 0.9f * r.nextFloat();
                events.add(c -> c.feedback(Given.feedback(target, kind, fl, second, trust)));
            }
            if (r.nextDouble() < 0.02) {
                Duration d = Duration.ofSeconds(1 + r.nextInt(90));
                events.add(c -> c.advance(d));
            }
        }
        return events;
    }
}
