package io.rehearsal.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * How many brokers the {@link KafkaCluster} of a test class has (default one). More than one is always an
 * in-process {@link io.rehearsal.broker.EmbeddedKafkaCluster}, with production's replication for its size,
 * shared by the test classes of the JVM that ask for the same size.
 *
 * <pre>{@code
 * @ExtendWith(KafkaBrokerExtension.class)
 * @KafkaBrokers(3)
 * class ClusterIT { ... }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface KafkaBrokers {
    /** The number of brokers. */
    int value();
}
