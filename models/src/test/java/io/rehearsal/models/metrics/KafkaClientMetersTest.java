package io.rehearsal.models.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** A component's Kafka clients show in its registry under Kafka's own names, and leave it when closed. */
class KafkaClientMetersTest {

    @Test
    void shouldExportTheClientsMetricsTaggedWithTheClientIdUntilClosed() {
        // Given a consumer and a producer (no broker needed: their metrics exist from construction)
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                     ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:1", ConsumerConfig.CLIENT_ID_CONFIG, "meters-consumer",
                     ConsumerConfig.GROUP_ID_CONFIG, "meters"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:1", ProducerConfig.CLIENT_ID_CONFIG, "meters-producer"),
                     new ByteArraySerializer(), new ByteArraySerializer())) {
            KafkaClientMeters meters = new KafkaClientMeters(registry, "test-client-metrics").bind(consumer).bind(producer);

            // Then both export Kafka's metrics under Prometheus names, tagged with their client ids
            String text = registry.scrape();
            assertThat(text).contains("kafka_consumer_connection_count{client_id=\"meters-consumer\"",
                    "kafka_producer_record_send_total{client_id=\"meters-producer\"");

            // and closing removes them
            meters.close();
            assertThat(registry.scrape()).doesNotContain("meters-consumer", "meters-producer");
        }
    }
}
