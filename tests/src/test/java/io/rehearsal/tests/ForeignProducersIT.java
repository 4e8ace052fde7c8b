package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.testkit.Tool;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Sample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Producers outside the JVM: a JSON sample written by {@code kcat} and an Avro single-object sample
 * written by Debian's python3-avro (examples/python/encode_sample.py) decode to the same record.
 * CI installs both tools; elsewhere the test is skipped, saying which one is missing ({@link RequiresTool}).
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ForeignProducersIT {
    private static final String JSON = "{\"id\":\"s1\",\"modelId\":\"fashion\",\"features\":{\"shape\":[2,2],"
            + "\"float32\":[0.0,0.25,0.5,1.0]},\"label\":3,\"task\":\"t1\",\"source\":\"kcat\",\"eventTime\":1764288000000}";

    @Test
    @RequiresTool({Tool.KCAT, Tool.PYTHON_AVRO})
    void shouldDecodeKcatJsonAndPythonAvroToTheSameSample(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        Topics topics = kafka.newTopics();

        // Given one sample produced as JSON by kcat
        Path json = dir.resolve("sample.json");
        Files.writeString(json, JSON);
        Tools.run(List.of("kcat", "-b", kafka.bootstrapServers(), "-t", topics.samples().name(), "-k", "s1", "-P", json.toString()));

        // And the same sample produced as Avro single-object bytes by python3-avro
        Path avro = dir.resolve("sample.bin");
        Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/python/encode_sample.py").toString(),
                "--id", "s1", "--model-id", "fashion", "--label", "3", "--features", "0,0.25,0.5,1", "--shape", "2,2",
                "--task", "t1", "--event-time-ms", "1764288000000", "--out", avro.toString()));
        assertThat(Files.readAllBytes(avro)).startsWith((byte) 0xC3, (byte) 0x01);
        Tools.run(List.of("kcat", "-b", kafka.bootstrapServers(), "-t", topics.samples().name(), "-k", "s1", "-P", avro.toString()));

        // When both are consumed with rehearsal's serde
        List<ConsumerRecord<String, Sample>> got = TestRecords.consume(kafka, topics.samples(), 2, Duration.ofSeconds(30));

        // Then they are the same record but for the source field
        assertThat(got).hasSize(2);
        Sample fromKcat = got.get(0).value();
        Sample fromPython = got.get(1).value();
        assertThat(fromKcat.getSource()).isEqualTo("kcat");
        assertThat(fromPython.getSource()).isEqualTo("python");
        fromPython.setSource("kcat");
        assertThat(fromPython).isEqualTo(fromKcat);
        assertThat(fromKcat.getLabel()).isEqualTo(3);
    }


    @Test
    @RequiresTool({Tool.PYTHON_AVRO, Tool.PYTHON_CONFLUENT_KAFKA})
    void shouldDecodeSamplesProducedByPythonConfluentKafkaInAvroAndJson(KafkaCluster kafka) throws Exception {
        Topics topics = kafka.newTopics();
        String script = Tools.repo().resolve("examples/python/produce_samples.py").toString();

        // When a Python producer writes 20 Avro samples and 20 JSON samples
        Tools.run(List.of(Tools.python(), script, "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix",
                topics.prefix(), "--count", "20", "--id-prefix", "avro", "--model-id", "py"));
        Tools.run(List.of(Tools.python(), script, "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix",
                topics.prefix(), "--count", "20", "--id-prefix", "json", "--json", "--model-id", "py"));

        // Then all 40 decode as valid 784-feature samples, and the same seed gave the same features in both forms
        List<ConsumerRecord<String, Sample>> got = TestRecords.consume(kafka, topics.samples(), 40, Duration.ofSeconds(30));
        assertThat(got).hasSize(40);
        assertThat(got).allSatisfy(r -> {
            assertThat(r.value().getModelId()).isEqualTo("py");
            assertThat(r.value().getFeatures().getShape()).containsExactly(784);
        });
        Sample avro0 = got.stream().filter(r -> r.key().equals("avro-0")).findFirst().orElseThrow().value();
        Sample json0 = got.stream().filter(r -> r.key().equals("json-0")).findFirst().orElseThrow().value();
        assertThat(avro0.getFeatures()).isEqualTo(json0.getFeatures());
        assertThat(avro0.getLabel()).isEqualTo(json0.getLabel());
    }
}
