package io.rehearsal.cli;

import io.rehearsal.schemas.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Option;

/**
 * How a rehearsal process reaches Kafka, shared by every subcommand (a picocli mixin). Standard Kafka
 * client properties come, later winning, from: a properties file ({@code --kafka-config}), environment
 * variables {@code REHEARSAL_KAFKA_<PROPERTY>} (upper case, dots as underscores, e.g.
 * {@code REHEARSAL_KAFKA_SECURITY_PROTOCOL=SASL_SSL}, {@code REHEARSAL_KAFKA_SASL_JAAS_CONFIG=...}), then
 * {@code --bootstrap-servers}. So TLS and SASL need no code, only properties.
 */
public final class KafkaOptions {
    static final String ENV_PREFIX = "REHEARSAL_KAFKA_";

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers (default: localhost:9092, or from --kafka-config / env).")
    String bootstrapServers;

    @Option(names = "--kafka-config", description = "A file of Kafka client properties (security.protocol, sasl.*, ssl.*, ...).")
    Path kafkaConfig;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Prefix of rehearsal's topics (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = "--partitions", defaultValue = "" + Topics.DEFAULT_INPUT_PARTITIONS,
            description = "Partitions of the input topics when creating them (default: ${DEFAULT-VALUE}).")
    int partitions;

    /** The client properties, resolved from file, environment and flags. */
    public Map<String, Object> clientProperties() {
        return resolve(kafkaConfig, System.getenv(), bootstrapServers);
    }

    /**
     * Client properties from a file, the environment and a bootstrap flag, as every subcommand resolves them
     * (for commands that cannot use this mixin, e.g. {@code demo}, whose own {@code --bootstrap-servers}
     * means "use this cluster instead of starting one").
     */
    public static Map<String, Object> clientProperties(Path file, String bootstrap) {
        return resolve(file, System.getenv(), bootstrap);
    }

    public Topics topics() {
        return new Topics(topicPrefix, partitions);
    }

    static Map<String, Object> resolve(Path file, Map<String, String> env, String bootstrap) {
        Map<String, Object> props = new LinkedHashMap<>();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        if (file != null) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read Kafka client properties from " + file + ": " + e.getMessage(), e);
            }
            p.forEach((k, v) -> props.put(k.toString(), v.toString()));
        }
        env.forEach((k, v) -> {
            // REHEARSAL_KAFKA_CONFIG is --kafka-config itself (see LayeredDefaults), not a client property
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length() && !k.equals(ENV_PREFIX + "CONFIG")) {
                props.put(k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
            }
        });
        if (bootstrap != null) {
            props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        }
        return props;
    }
}
