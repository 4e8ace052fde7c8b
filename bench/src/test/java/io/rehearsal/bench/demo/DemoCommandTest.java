package io.rehearsal.bench.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code rehearsal demo} reaches a secured cluster with the same client properties as every component. */
class DemoCommandTest {

    @Test
    void shouldStartItsOwnBrokerWhenNoClusterIsGiven() {
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs();
        assertThat(demo.externalCluster()).isEmpty();
    }

    @Test
    void shouldUseTheClientPropertiesOfAKafkaConfigFile(@TempDir Path dir) throws Exception {
        // Given a client file for a SASL_SSL cluster, as k8s/base/app/kafka-client.properties has it
        Path file = Files.writeString(dir.resolve("client.properties"), """
                bootstrap.servers=kafka:9093
                security.protocol=SASL_SSL
                sasl.mechanism=SCRAM-SHA-512
                ssl.truststore.type=PEM
                """);
        // When the demo is pointed at it
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs("--kafka-config", file.toString());
        // Then it uses that cluster with those properties, not a broker of its own
        assertThat(demo.externalCluster()).hasValueSatisfying(p -> assertThat(p)
                .containsEntry("bootstrap.servers", "kafka:9093").containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512").containsEntry("ssl.truststore.type", "PEM"));
    }

    @Test
    void shouldLetTheBootstrapFlagWinOverTheFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("client.properties"), "bootstrap.servers=kafka:9093\nsecurity.protocol=SSL\n");
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs("--kafka-config", file.toString(), "--bootstrap-servers", "other:9093");
        assertThat(demo.externalCluster()).hasValueSatisfying(p -> assertThat(p)
                .containsEntry("bootstrap.servers", "other:9093").containsEntry("security.protocol", "SSL"));
    }
}
