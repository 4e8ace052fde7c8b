package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientConfigTest {
    @Test
    void shouldLayerDefaultsUnderTheUsersPropertiesUnderWhatTheComponentRequires() {
        Map<String, Object> user = Map.of("max.poll.records", 7, "group.id", "someone-else", "enable.auto.commit", true,
                "security.protocol", "SASL_SSL", "isolation.level", "read_uncommitted");

        Map<String, Object> c = ClientConfig.consumer("broker:9092").withDefault("max.poll.records", 32)
                .withoutGroup().readCommitted().over(user);

        assertThat(c).containsEntry("bootstrap.servers", "broker:9092")
                .containsEntry("max.poll.records", 7) // the user's tuning wins over a default
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("enable.auto.commit", false) // required: no user setting overrides it
                .containsEntry("isolation.level", "read_committed")
                .containsEntry("max.partition.fetch.bytes", Topics.LARGE_MESSAGE_BYTES)
                .doesNotContainKey("group.id"); // forbidden: the consumer assigns itself
    }

    @Test
    void shouldSizeAProducersRequestsByTheTopicsItWrites() {
        Topics topics = Topics.defaults();

        Map<String, Object> p = ClientConfig.producer("broker:9092", topics.feedback(), topics.deadLetters())
                .over(Map.of("max.request.size", 50 << 20, "acks", "1"));

        assertThat(p).containsEntry("max.request.size", Topics.SMALL_MESSAGE_BYTES).containsEntry("acks", "all")
                .containsEntry("enable.idempotence", true);
    }
}
