package io.rehearsal.schemas;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The one way rehearsal's components configure a Kafka client, in three layers: the component's
 * defaults, then the user's client properties (TLS, SASL, tuning), then what the component cannot run
 * without, which no user setting overrides (an offset that must move only in a transaction, a consumer
 * that must not join a group, a request size that must match the topics written).
 *
 * <pre>{@code
 * Map<String, Object> config = ClientConfig.consumer(bootstrap)
 *         .withDefault(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 32)
 *         .inGroup(groupId).readCommitted()
 *         .over(kafkaProperties);
 * }</pre>
 */
public final class ClientConfig {
    private final Map<String, Object> defaults = new LinkedHashMap<>();
    private final Map<String, Object> required = new LinkedHashMap<>();
    private final Set<String> removed = new LinkedHashSet<>();

    private ClientConfig(String bootstrapServers) {
        if (bootstrapServers != null) {
            required.put("bootstrap.servers", bootstrapServers); // what the component was told to reach
        }
    }

    /**
     * A consumer of raw bytes (components decode records themselves, so a bad one is a dead letter, not a
     * poll that throws) that fetches records as large as rehearsal's largest topics allow.
     */
    public static ClientConfig consumer(String bootstrapServers) {
        return new ClientConfig(bootstrapServers)
                .withDefault(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class)
                .withDefault(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class)
                .withDefault(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
    }

    /**
     * A producer of raw bytes, always acknowledged by all in-sync replicas and idempotent, whose
     * {@code max.request.size} is the largest record the topics it writes accept.
     */
    public static ClientConfig producer(String bootstrapServers, Topic<?, ?>... written) {
        return new ClientConfig(bootstrapServers)
                .withDefault(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class)
                .withDefault(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class)
                .require(ProducerConfig.ACKS_CONFIG, "all")
                .require(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
                .require(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.maxRequestSize(written));
    }

    /** A setting the user may override. */
    public ClientConfig withDefault(String key, Object value) {
        defaults.put(key, value);
        return this;
    }

    /** A setting no user property overrides. */
    public ClientConfig require(String key, Object value) {
        required.put(key, value);
        removed.remove(key);
        return this;
    }

    /** A setting that is dropped whatever the user says. */
    public ClientConfig forbid(String key) {
        removed.add(key);
        required.remove(key);
        return this;
    }

    /** Committed records only, and offsets that move only when the component commits them. */
    public ClientConfig readCommitted() {
        return require(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .require(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    }

    /** A member of {@code groupId}, which shares the partitions among the instances. */
    public ClientConfig inGroup(String groupId) {
        return require(ConsumerConfig.GROUP_ID_CONFIG, Objects.requireNonNull(groupId, "groupId"))
                .require(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    }

    /** No consumer group: the component assigns itself partitions and commits nothing. */
    public ClientConfig withoutGroup() {
        return forbid(ConsumerConfig.GROUP_ID_CONFIG).require(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    }

    /** The settings: defaults, then {@code userProperties}, then the required ones, minus the forbidden. */
    public Map<String, Object> over(Map<String, ?> userProperties) {
        Map<String, Object> config = new HashMap<>(defaults);
        config.putAll(userProperties);
        config.putAll(required);
        removed.forEach(config::remove);
        return config;
    }
}
