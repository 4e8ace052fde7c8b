package io.rehearsal.testkit;

import org.testcontainers.kafka.KafkaContainer;

/** The Testcontainers path; only loaded when a Docker engine answered. */
final class ContainerBroker {
    private ContainerBroker() {
    }

    static KafkaBrokerExtension.Cluster start(String image) {
        KafkaContainer container = new KafkaContainer(image);
        container.start();
        return new KafkaBrokerExtension.Cluster(container.getBootstrapServers(), null, null, container::stop);
    }
}
