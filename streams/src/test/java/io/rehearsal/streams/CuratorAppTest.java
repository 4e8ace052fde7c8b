package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.Topics;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class CuratorAppTest {
    @Test
    void shouldRunExactlyOnceWhateverTheExtraProperties() {
        Properties p = CuratorApp.streamsConfig(new Topics("acme", 3),
                Map.of("processing.guarantee", "at_least_once", "security.protocol", "SASL_SSL", "num.stream.threads", 2));
        assertThat(p.get("processing.guarantee")).isEqualTo("exactly_once_v2");
        assertThat(p.get("security.protocol")).isEqualTo("SASL_SSL");
        assertThat(p.get("num.stream.threads")).isEqualTo(2);
        assertThat(p.get("application.id")).isEqualTo("acme-curator");
    }

    @Test
    void shouldLetTheProducerSendEveryRecordItsTopicsTake() {
        Topics topics = Topics.defaults();
        Properties p = CuratorApp.streamsConfig(topics, Map.of());
        // batches of 8 MiB and rerouted samples of 8 MiB plus their origin headers
        assertThat(p.get("producer.max.request.size")).isEqualTo(Topics.LARGE_MESSAGE_BYTES + Topics.REROUTE_OVERHEAD_BYTES)
                .isEqualTo(topics.reroute().maxMessageBytes());
    }
}
