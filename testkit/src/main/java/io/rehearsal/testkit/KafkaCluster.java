package io.rehearsal.testkit;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.broker.EmbeddedKafkaCluster;
import io.rehearsal.schemas.Topics;
import java.util.Map;
import java.util.Optional;

/**
 * The real Kafka broker a test talks to, injected by {@link KafkaBrokerExtension}. One broker serves a
 * whole test JVM; each test asks for its own topics with {@link #newTopics()} so tests never share
 * state.
 */
public interface KafkaCluster {
    /** {@code host:port} for {@code bootstrap.servers}. */
    String bootstrapServers();

    /** Client properties that reach this broker (bootstrap servers and any security settings). */
    Map<String, Object> clientProperties();

    /** A fresh, unique set of rehearsal topics, created on the broker, with 1 input partition. */
    default Topics newTopics() {
        return newTopics(1);
    }

    /** A fresh, unique set of rehearsal topics, created on the broker. */
    Topics newTopics(int inputPartitions);

    /** The in-process broker, when the tests run on one (for broker-restart tests); empty on a container. */
    Optional<EmbeddedKafkaBroker> embedded();

    /** The in-process cluster, when the test class asked for several brokers ({@link KafkaBrokers}). */
    default Optional<EmbeddedKafkaCluster> embeddedCluster() {
        return Optional.empty();
    }
}
