package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Sample;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The in-process broker starts, serves, and restarts on its data like a real one. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class EmbeddedBrokerIT {

    @Test
    void shouldKeepTopicsAndRecordsAcrossARestart(@TempDir Path dir) {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir).build().start()) {
            System.out.printf("embedded broker start-to-ready: %d ms%n", broker.lastStartTime().toMillis());
            KafkaCluster kafka = new StaticCluster(broker);
            Topics topics = new Topics("restart", 1);
            try (Admin admin = Admin.create(kafka.clientProperties())) {
                new TopicAdmin(admin).ensure(topics.all());
            }
            TestRecords.produce(kafka, topics.samples(), Map.of("s1", Examples.sample("s1", 1)));

            // When the broker stops and starts again on the same data and port
            broker.stop();
            assertThat(broker.isRunning()).isFalse();
            broker.start();
            System.out.printf("embedded broker restart-to-ready: %d ms%n", broker.lastStartTime().toMillis());

            // Then the record is still there
            List<ConsumerRecord<String, Sample>> got = TestRecords.consume(kafka, topics.samples(), 1, Duration.ofSeconds(30));
            assertThat(got).extracting(ConsumerRecord::key).containsExactly("s1");
        }
    }

    /** A KafkaCluster over a broker this test owns. */
    private record StaticCluster(EmbeddedKafkaBroker broker) implements KafkaCluster {
        @Override
        public String bootstrapServers() {
            return broker.bootstrapServers();
        }

        @Override
        public Map<String, Object> clientProperties() {
            return Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        }

        @Override
        public Topics newTopics(int inputPartitions) {
            throw new UnsupportedOperationException("create topics explicitly in this test");
        }

        @Override
        public Optional<EmbeddedKafkaBroker> embedded() {
            return Optional.of(broker);
        }
    }
}
