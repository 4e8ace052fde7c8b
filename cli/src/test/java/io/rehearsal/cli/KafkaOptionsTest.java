package io.rehearsal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaOptionsTest {

    @Test
    void shouldLayerFileThenEnvironmentThenFlags(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "bootstrap.servers=file:9092\nsecurity.protocol=SSL\nssl.truststore.location=/tls/ts.p12\n");
        Map<String, String> env = Map.of(
                "REHEARSAL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "REHEARSAL_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "UNRELATED", "x");

        Map<String, Object> props = KafkaOptions.resolve(file, env, "flag:9092");

        assertThat(props)
                .containsEntry("bootstrap.servers", "flag:9092")
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("ssl.truststore.location", "/tls/ts.p12")
                .doesNotContainKey("unrelated");
    }

    @Test
    void shouldDefaultToLocalhost() {
        assertThat(KafkaOptions.resolve(null, Map.of(), null)).containsExactly(Map.entry("bootstrap.servers", "localhost:9092"));
    }
}
