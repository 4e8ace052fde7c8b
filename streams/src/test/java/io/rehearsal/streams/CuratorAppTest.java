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

    @Test
    void shouldTakeItsShardsBackAtOnceAfterARestartThroughAStableInstanceId() {
        // Given two curators on one host, each with its own state directory, each started twice
        Properties a1 = CuratorApp.streamsConfig(Topics.defaults(), Map.of("state.dir", "/var/lib/curator-a"));
        Properties a2 = CuratorApp.streamsConfig(Topics.defaults(), Map.of("state.dir", "/var/lib/curator-a/"));
        Properties b = CuratorApp.streamsConfig(Topics.defaults(), Map.of("state.dir", "/var/lib/curator-b"));

        // Then each is a static member whose id survives its restarts and differs from the other's
        Object id = a1.get("group.instance.id");
        assertThat(id).asString().startsWith("rehearsal-curator-" + StaticMembership.hostName().replaceAll("[^A-Za-z0-9._-]", "_") + "-")
                .matches("rehearsal-curator-.+-[0-9a-f]{8}");
        assertThat(a2.get("group.instance.id")).isEqualTo(id);
        assertThat(b.get("group.instance.id")).isNotEqualTo(id);
    }

    @Test
    void shouldKeepAGivenInstanceIdAndDropAnEmptyOne() {
        assertThat(CuratorApp.streamsConfig(Topics.defaults(), Map.of("group.instance.id", "curator-0")).get("group.instance.id"))
                .isEqualTo("curator-0");
        assertThat(CuratorApp.streamsConfig(Topics.defaults(), Map.of("group.instance.id", "")))
                .doesNotContainKey("group.instance.id");
    }

    @Test
    void shouldDeriveTheInstanceIdFromApplicationHostAndStateDirectory() {
        assertThat(StaticMembership.id("app", "pod/0 x", java.nio.file.Path.of("/s")))
                .isEqualTo(StaticMembership.id("app", "pod/0 x", java.nio.file.Path.of("/s/../s")))
                .startsWith("app-pod_0_x-").hasSize("app-pod_0_x-".length() + 8);
    }
}
