package io.rehearsal.streams.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.streams.buffer.SampleEntry;
import org.junit.jupiter.api.Test;

class FeedbackRulesTest {
    @Test
    void shouldApplyTheFirstFeedback() {
        assertThat(FeedbackRules.supersedes(5, 0.1f, SampleEntry.NO_FEEDBACK, 0f)).isTrue();
    }

    @Test
    void shouldLetTheLatestEventTimeWinWhateverTheTrust() {
        assertThat(FeedbackRules.supersedes(10, 0.1f, 5, 1.0f)).isTrue();
        assertThat(FeedbackRules.supersedes(5, 1.0f, 10, 0.1f)).isFalse();
    }

    @Test
    void shouldBreakTiesByTrustThenByArrival() {
        assertThat(FeedbackRules.supersedes(10, 0.9f, 10, 0.5f)).isTrue();
        assertThat(FeedbackRules.supersedes(10, 0.5f, 10, 0.9f)).isFalse();
        assertThat(FeedbackRules.supersedes(10, 0.5f, 10, 0.5f)).isTrue();
    }
}
