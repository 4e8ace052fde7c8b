package io.rehearsal.testkit;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.broker.EmbeddedKafkaCluster;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives tests a real Kafka broker: a {@link KafkaCluster} parameter in a constructor, lifecycle or test
 * method.
 *
 * <pre>{@code
 * @ExtendWith(KafkaBrokerExtension.class)
 * class CuratorIT {
 *     @Test
 *     void shouldSurviveRestart(KafkaCluster kafka) { Topics topics = kafka.newTopics(); ... }
 * }
 * }</pre>
 *
 * <p>One broker per test JVM, kept in the root store and stopped when the JVM's tests end. It is
 * Testcontainers' {@code apache/kafka} container when a Docker engine answers, else the in-process
 * {@link EmbeddedKafkaBroker}. The environment variable {@code REHEARSAL_TEST_BROKER} ({@code auto},
 * {@code embedded} or {@code container}) forces a choice; the system property
 * {@code rehearsal.test.kafka.image} picks the image.
 *
 * <p>A test class annotated {@link KafkaBrokers @KafkaBrokers(n)} with n &gt; 1 gets an in-process
 * {@link EmbeddedKafkaCluster} of n brokers instead (one per size per test JVM), whose brokers it may
 * stop and start ({@link KafkaCluster#embeddedCluster()}).
 */
public final class KafkaBrokerExtension implements ParameterResolver {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokerExtension.class);
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(KafkaBrokerExtension.class);
    static final String DEFAULT_IMAGE = "apache/kafka:4.1.1";

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == KafkaCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        int brokers = context.getTestClass().map(c -> c.getAnnotation(KafkaBrokers.class))
                .map(KafkaBrokers::value).orElse(1);
        if (brokers < 1) {
            throw new IllegalArgumentException("@KafkaBrokers needs at least one broker, got " + brokers);
        }
        if (brokers > 1) {
            return context.getRoot().getStore(NAMESPACE)
                    .getOrComputeIfAbsent("cluster-" + brokers, k -> startCluster(brokers), Cluster.class);
        }
        return context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(Cluster.class, k -> startCluster(), Cluster.class);
    }

    private static Cluster startCluster(int brokers) {
        LOG.info("test brokers: in-process KRaft cluster of {}", brokers);
        EmbeddedKafkaCluster cluster = EmbeddedKafkaCluster.builder().brokers(brokers).build().start();
        return new Cluster(cluster.bootstrapServers(), null, cluster, cluster::close);
    }

    private static Cluster startCluster() {
        String mode = Optional.ofNullable(System.getenv("REHEARSAL_TEST_BROKER")).orElse("auto").toLowerCase(Locale.ROOT);
        if (!mode.equals("embedded") && (mode.equals("container") || DockerProbe.dockerAvailable())) {
            String image = System.getProperty("rehearsal.test.kafka.image", DEFAULT_IMAGE);
            LOG.info("test broker: Testcontainers {}", image);
            return ContainerBroker.start(image);
        }
        LOG.info("test broker: in-process KRaft broker (no Docker engine)");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start();
        return new Cluster(broker.bootstrapServers(), broker, null, broker::close);
    }

    /** The shared broker; closed by JUnit when the root store closes (end of the test JVM). */
    static final class Cluster implements KafkaCluster, AutoCloseable {
        private static final AtomicInteger COUNTER = new AtomicInteger();
        private final String bootstrap;
        private final EmbeddedKafkaBroker embedded;
        private final EmbeddedKafkaCluster embeddedCluster;
        private final Runnable stop;

        Cluster(String bootstrap, EmbeddedKafkaBroker embedded, EmbeddedKafkaCluster embeddedCluster, Runnable stop) {
            this.bootstrap = bootstrap;
            this.embedded = embedded;
            this.embeddedCluster = embeddedCluster;
            this.stop = stop;
        }

        @Override
        public String bootstrapServers() {
            return bootstrap;
        }

        @Override
        public Map<String, Object> clientProperties() {
            return Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        }

        @Override
        public Topics newTopics(int inputPartitions) {
            String prefix = "t" + COUNTER.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 8);
            Topics topics = new Topics(prefix, inputPartitions);
            try (Admin admin = Admin.create(clientProperties())) {
                new TopicAdmin(admin).ensure(topics.all());
            }
            return topics;
        }

        @Override
        public Optional<EmbeddedKafkaBroker> embedded() {
            return Optional.ofNullable(embedded);
        }

        @Override
        public Optional<EmbeddedKafkaCluster> embeddedCluster() {
            return Optional.ofNullable(embeddedCluster);
        }

        @Override
        public void close() {
            stop.run();
        }
    }
}
