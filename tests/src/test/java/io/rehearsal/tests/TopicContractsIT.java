package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every record type crosses a real broker intact, and the topic admin creates and checks topics. */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class TopicContractsIT {

    @Test
    void shouldCarryEveryRecordTypeThroughTheBroker(KafkaCluster kafka) {
        // Given fresh topics
        Topics topics = kafka.newTopics();

        // When one record of each type is produced and consumed
        // Then each arrives equal to what was sent
        roundTrip(kafka, topics.samples(), "s1", Examples.sample("s1", 3));
        roundTrip(kafka, topics.feedback(), "s1", Examples.feedback("s1", 4));
        roundTrip(kafka, topics.trainBatches(), "fashion", Examples.trainBatch());
        roundTrip(kafka, topics.modelUpdates(), "fashion", Examples.snapshot());
        roundTrip(kafka, topics.modelChunks(), "fashion/1/0", Examples.chunk());
        roundTrip(kafka, topics.predictions(), "s2", Examples.prediction());
        roundTrip(kafka, topics.deadLetters(), "s9".getBytes(), Examples.deadLetter());
    }

    @Test
    void shouldCreateTopicsIdempotentlyAndReportDrift(KafkaCluster kafka) throws Exception {
        Topics topics = kafka.newTopics(); // created once already
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            TopicAdmin topicAdmin = new TopicAdmin(admin);

            // When ensured again: nothing is created, nothing drifted
            TopicAdmin.Report again = topicAdmin.ensure(topics.all());
            assertThat(again.created()).isEmpty();
            assertThat(again.existing()).hasSize(topics.all().size());
            assertThat(again.drifts()).isEmpty();

            // When an operator turns compaction off on model-updates
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topics.modelUpdates().name());
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE),
                    AlterConfigOp.OpType.SET)))).all().get();

            // Then the drift is reported, naming topic, setting and both values (once the broker
            // has applied the change: KRaft propagates configs asynchronously)
            List<TopicAdmin.Drift> drifts = List.of();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (drifts.isEmpty() && System.nanoTime() < deadline) {
                drifts = topicAdmin.ensure(topics.all()).drifts();
            }
            assertThat(drifts).containsExactly(new TopicAdmin.Drift(topics.modelUpdates().name(),
                    TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT, TopicConfig.CLEANUP_POLICY_DELETE));
        }
    }

    private static <K, V> void roundTrip(KafkaCluster kafka, Topic<K, V> topic, K key, V value) {
        TestRecords.produce(kafka, topic, Map.of(key, value));

        List<ConsumerRecord<K, V>> got = TestRecords.consume(kafka, topic, 1, Duration.ofSeconds(30));

        assertThat(got).as(topic.name()).hasSize(1);
        assertThat(got.get(0).value()).as(topic.name()).isEqualTo(value);
    }
}
