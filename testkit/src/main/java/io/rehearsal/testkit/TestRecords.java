package io.rehearsal.testkit;

import io.rehearsal.schemas.Topic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produce and consume through a real broker in tests, with rehearsal's serdes, waiting on a condition
 * with a deadline (never a fixed sleep).
 */
public final class TestRecords {
    private TestRecords() {
    }

    /** Produces records and waits until the broker acknowledged each. */
    public static <K, V> void produce(KafkaCluster kafka, Topic<K, V> topic, Map<K, V> records) {
        List<ProducerRecord<byte[], byte[]>> raw = new ArrayList<>();
        records.forEach((k, v) -> raw.add(new ProducerRecord<>(topic.name(), topic.serializeKey(k), topic.serializeValue(v))));
        produceRaw(kafka, raw);
    }

    /** Produces raw bytes (for malformed input) and waits until each is acknowledged. */
    public static void produceRaw(KafkaCluster kafka, List<ProducerRecord<byte[], byte[]>> records) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 << 20);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
            for (ProducerRecord<byte[], byte[]> r : records) {
                acks.add(producer.send(r));
            }
            for (var ack : acks) {
                ack.get();
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("produce failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads committed records of a topic from the beginning until {@code count} arrived or the timeout
     * passed, and returns them decoded (fewer than {@code count} on timeout: assert on the size).
     */
    public static <K, V> List<ConsumerRecord<K, V>> consume(KafkaCluster kafka, Topic<K, V> topic, int count, Duration timeout) {
        KafkaConsumer<K, V> consumer = new KafkaConsumer<>(groupless(kafka), topic.keySerde().deserializer(),
                topic.valueSerde().deserializer());
        try {
            return readFromBeginning(consumer, topic.name(), count, timeout);
        } finally {
            closeQuickly(consumer);
        }
    }

    /** Like {@link #consume} but returns raw bytes. */
    public static List<ConsumerRecord<byte[], byte[]>> consumeRaw(KafkaCluster kafka, String topic, int count, Duration timeout) {
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(groupless(kafka), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        try {
            return readFromBeginning(consumer, topic, count, timeout);
        } finally {
            closeQuickly(consumer);
        }
    }

    /**
     * A read_committed consumer outside any group: no join, no leave on close (a group consumer's close waits up to
     * 30 s for the coordinator, which a loaded broker can take, and stalls the test around it).
     */
    private static Map<String, Object> groupless(KafkaCluster kafka) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        return props;
    }

    /**
     * Closes without waiting on the broker: nothing to commit and no group to leave, and {@code close()} waits up to
     * 30 s for in-flight requests, which stalled a test around it on a busy broker.
     */
    private static void closeQuickly(KafkaConsumer<?, ?> consumer) {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(1)));
    }

    /** Every partition of {@code topic} from its beginning, until {@code count} records came or the timeout passed. */
    private static <K, V> List<ConsumerRecord<K, V>> readFromBeginning(KafkaConsumer<K, V> consumer, String topic, int count,
                                                                       Duration timeout) {
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        List<org.apache.kafka.common.TopicPartition> partitions = List.of();
        while (partitions.isEmpty() && System.nanoTime() < deadline) { // the topic may not exist yet
            try {
                partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5)).stream()
                        .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                continue; // no metadata yet: ask again until the deadline
            }
            if (partitions.isEmpty()) {
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
            }
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        while (out.size() < count && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
        return out;
    }

    /**
     * Every committed record of a topic, all partitions, up to the end it had when called (the last stable
     * offset), decoded; fails if that end is not reached within {@code timeout}.
     */
    public static <K, V> List<ConsumerRecord<K, V>> consumeToEnd(KafkaCluster kafka, Topic<K, V> topic, Duration timeout) {
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(props, topic.keySerde().deserializer(), topic.valueSerde().deserializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = consumer.partitionsFor(topic.name(), timeout).stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp, timeout) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic.name() + " to its end " + end + " within " + timeout);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
