package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.bench.Main;
import io.rehearsal.schemas.JsonCodec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rehearsal bench cl} may run in-process for speed only because it runs the same classes: the
 * same benchmark with {@code --through-kafka} (real topics, the production CuratorApp and TrainerApp, a
 * ModelSubscriber evaluating the snapshot at each task boundary) gives the same batches, hence the same
 * model and the same accuracy matrix, for one seed.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ExperimentModesIT {

    @Test
    void shouldGiveTheSameNumbersInProcessAndThroughKafka(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given one seed of the view-batch configuration with self-supervision, 300 images per task of the bundled subset
        List<String> args = List.of("bench", "cl", "--data", dir.resolve("no-data").toString(), "--configs", "vb4+ssl",
                "--buffers", "100", "--seeds", "7", "--max-train-per-task", "300", "--batch-size", "64",
                "--fresh-per-batch", "4", "--views-per-sample", "8", "--hidden", "64", "--lr", "0.05");

        // When the benchmark runs in process, and through the broker
        JsonNode inProcess = run(args, dir.resolve("in-process"));
        List<String> throughKafkaArgs = new ArrayList<>(args);
        throughKafkaArgs.addAll(List.of("--through-kafka", "--bootstrap-servers", kafka.bootstrapServers()));
        JsonNode throughKafka = run(throughKafkaArgs, dir.resolve("through-kafka"));

        // Then the training is identical: same steps, views, prequential accuracy and accuracy matrix
        assertThat(throughKafka.get("steps").asLong()).isEqualTo(inProcess.get("steps").asLong()).isGreaterThan(100);
        assertThat(throughKafka.get("views")).isEqualTo(inProcess.get("views"));
        assertThat(throughKafka.get("prequential")).isEqualTo(inProcess.get("prequential"));
        assertThat(throughKafka.get("accuracyMatrix")).isEqualTo(inProcess.get("accuracyMatrix"));
        assertThat(throughKafka.get("finalAccuracy")).isEqualTo(inProcess.get("finalAccuracy"));
        assertThat(inProcess.get("finalAccuracy").asDouble()).isGreaterThan(0.2);
        assertThat(Files.readString(dir.resolve("through-kafka").resolve("bench-cl.md"))).contains("through Kafka");
    }

    private static JsonNode run(List<String> args, Path out) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--out", out.toString()));
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));
        assertThat(cli.execute(all.toArray(String[]::new))).as(err.toString()).isZero();
        JsonNode runs = JsonCodec.mapper().readTree(out.resolve("bench-cl.json").toFile()).get("runs");
        assertThat(runs).hasSize(1);
        return runs.get(0);
    }
}
