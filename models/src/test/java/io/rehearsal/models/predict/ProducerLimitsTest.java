package io.rehearsal.models.predict;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.Topics;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every producer of the serving side may send exactly the records the topics it writes accept. */
class ProducerLimitsTest {
    private static final Topics TOPICS = Topics.defaults();

    @Test
    void shouldLetThePredictorSendWhatPredictionsFeedbackAndDeadLettersAcceptWhateverTheClientSettings() {
        // Given a predictor whose client settings ask for a different limit
        PredictorSettings settings = PredictorSettings.builder(SubscriberSettings.builder("m").build()).build();
        try (PredictionService service = new PredictionService(settings, TOPICS, "localhost:1",
                Map.of("max.request.size", 100), new SimpleMeterRegistry())) {
            // Then its producer's limit is the largest record those topics take
            assertThat(service.producerConfig().get("max.request.size"))
                    .isEqualTo(Topics.maxRequestSize(TOPICS.predictions(), TOPICS.feedback(), TOPICS.deadLetters()))
                    .isEqualTo(Math.max(TOPICS.predictions().maxMessageBytes(), Math.max(TOPICS.feedback().maxMessageBytes(),
                            TOPICS.deadLetters().maxMessageBytes())));
        }
    }

    @Test
    void shouldLetTheFeedbackSenderSendWhatTheFeedbackTopicAccepts() {
        assertThat(FeedbackSender.producerConfig(TOPICS, "localhost:1", Map.of("max.request.size", 100_000_000))
                .get("max.request.size")).isEqualTo(TOPICS.feedback().maxMessageBytes());
    }
}
