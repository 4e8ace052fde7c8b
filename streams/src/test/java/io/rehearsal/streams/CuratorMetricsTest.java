package io.rehearsal.streams;

import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.metrics.CuratorMetrics;
import org.junit.jupiter.api.Test;

/** The curator's meters, as an operator's dashboard reads them. */
class CuratorMetricsTest {

    @Test
    void shouldReportBufferBatchesRecallsFeedbackAndDeadLetters() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CuratorSettings s = Given.settings().optLongTermCapacity(6).optIntervals(2, 8, 1).optPendingCapacity(1);
        try (InProcessCurator curator = new InProcessCurator(s, Given.T0, new CuratorMetrics(registry), false)) {
            // Given a stream of two classes, a request, an eval sample, feedback and a bad record
            for (int i = 0; i < 20; i++) {
                curator.sample(sample("s" + i, i % 2));
            }
            curator.sample(Given.request("r0"));
            curator.sample(Given.eval("e0", 1));
            curator.feedback(Given.label("s3", 1, 5));
            curator.feedback(Given.confirm("s4", 5));
            curator.feedback(Given.label("later", 1, 5));
            curator.feedback(Given.label("overflow", 1, 5));
            curator.sample("bad".getBytes(), new byte[] {1});

            // Then the buffer occupancy is reported per model and class
            assertThat(registry.get("rehearsal.curator.buffer.occupancy").tags("model", "m", "class", "0").gauge().value()).isEqualTo(3);
            assertThat(registry.get("rehearsal.curator.buffer.occupancy").tags("model", "m", "class", "1").gauge().value()).isEqualTo(3);
            assertThat(registry.get("rehearsal.curator.short.term.size").tags("model", "m").gauge().value()).isEqualTo(21);
            assertThat(registry.get("rehearsal.curator.eval.set.size").tags("model", "m").gauge().value()).isEqualTo(1);
            // batches, fresh and recalled groups per batch
            assertThat(registry.get("rehearsal.curator.batches").tags("model", "m", "kind", "train").counter().count()).isEqualTo(10);
            DistributionSummary fresh = registry.get("rehearsal.curator.batch.items").tags("role", "fresh").summary();
            assertThat(fresh.count()).isEqualTo(10);
            assertThat(fresh.totalAmount()).isEqualTo(20);
            assertThat(registry.get("rehearsal.curator.batch.items").tags("role", "recall").summary().totalAmount()).isPositive();
            // recall counts, intervals and lateness
            assertThat(registry.get("rehearsal.curator.recalls").tags("tier", "long").counter().count()).isPositive();
            assertThat(registry.get("rehearsal.curator.recall.interval").summary().max()).isGreaterThanOrEqualTo(2);
            assertThat(registry.get("rehearsal.curator.due.lateness").summary().count()).isPositive();
            assertThat(registry.get("rehearsal.curator.recall.prior.recalls").summary().count())
                    .isEqualTo((long) registry.get("rehearsal.curator.recalls").counters().stream().mapToDouble(c -> c.count()).sum());
            // the last batch (step 9) has 2 recall groups and 3 long-term entries due: s14 and s15 (fresh at step 7,
            // I_0 = 2) and s7 (recalled at step 5, next interval 2 x 2 = 4), so one waits
            assertThat(registry.get("rehearsal.curator.due.backlog").tags("tier", "long").gauge().value()).isEqualTo(1);
            // feedback by kind and outcome, pending feedback
            assertThat(registry.get("rehearsal.curator.feedback").tags("kind", "label", "outcome", "applied").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.feedback").tags("kind", "confirm", "outcome", "applied").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.feedback").tags("kind", "label", "outcome", "pending").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.feedback").tags("kind", "label", "outcome", "overflow").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.feedback.pending").gauge().value()).isEqualTo(1);
            // dead letters by reason, samples by split
            assertThat(registry.get("rehearsal.curator.dead.letters").tags("reason", "BAD_MARKER").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.dead.letters").tags("reason", "FEEDBACK_OVERFLOW").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.samples").tags("split", "request").counter().count()).isEqualTo(1);
            assertThat(registry.get("rehearsal.curator.samples").tags("split", "train").counter().count()).isEqualTo(20);
        }
    }

    @Test
    void shouldRegisterEveryFeedbackOutcomeAndDeadLetterReasonAtZeroBeforeAnyHappens() {
        // Given a curator's meters, before any record
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new CuratorMetrics(registry);

        // Then every feedback kind and outcome, and every dead-letter reason, has a counter at 0: an alert on
        // increase() sees the first expired feedback or dead letter, and the series exist for the rules
        assertThat(registry.find("rehearsal.curator.feedback").counters())
                .hasSize(CuratorMetrics.FEEDBACK_KINDS.size() * CuratorMetrics.FEEDBACK_OUTCOMES.size())
                .allSatisfy(c -> assertThat(c.count()).isZero());
        assertThat(registry.get("rehearsal.curator.feedback").tags("kind", "label", "outcome", "expired").counter().count()).isZero();
        for (DeadLetterReason reason : DeadLetterReason.values()) {
            assertThat(registry.get("rehearsal.curator.dead.letters").tag("reason", reason.name()).counter().count()).isZero();
        }
        for (RecordDecodeException.Reason reason : RecordDecodeException.Reason.values()) {
            assertThat(registry.get("rehearsal.curator.dead.letters").tag("reason", reason.name()).counter().count()).isZero();
        }
    }
}
