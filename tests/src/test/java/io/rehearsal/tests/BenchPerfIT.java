package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import io.rehearsal.bench.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rehearsal bench perf --quick} (about 80 s alone on 2 cores) runs every section (trainer and its
 * PyTorch peer, curator and ProducerPerformance, freshness through the pipeline, memory) and prints the
 * table. Figures are not asserted: they depend on the machine and its load. That the peers ran is:
 * every trainer row has a PyTorch figure and a ratio (Debian's python3-torch, which .ci/run installs).
 */
@ExtendWith(KafkaBrokerExtension.class)
@RequiresTool(Tool.PYTHON_TORCH)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class BenchPerfIT {

    @Test
    void shouldPrintTheTableOfEveryFigureWithItsPeer(KafkaCluster kafka, @TempDir Path out) throws Exception {
        // Given the smallest settings of every section
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int code;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            // When bench perf runs against the test broker
            code = Main.commandLine().execute("bench", "perf", "--quick", "--bootstrap-servers", kafka.bootstrapServers(),
                    "--data", out.resolve("absent").toString(), "--out", out.toString());
        } finally {
            System.setOut(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        original.println(printed);

        // Then it succeeds and prints (and writes) a row for each kind of figure, with the peer's column
        assertThat(code).isZero();
        assertThat(printed).contains("| section | figure | rehearsal | peer | ratio |",
                "| trainer | mlp B=64 R=1 samples/s", "| trainer | cnn B=64 R=4 samples/s", "fixed cost of a step",
                "| ingest | curator, 784 float32 samples", "| ingest | curator, 784 uint8 samples", "Kafka ProducerPerformance",
                "| scale | curator, 2 partition(s)", "| freshness | p50 at 1,000 samples/s", "| freshness | p99 at 1,000 samples/s",
                "| memory | trainer RSS after", "| memory | RocksDB bytes per buffered float32 sample");
        // and the trainer rows were measured against PyTorch eager: a figure, a ratio, the peer's name
        List<String> trainerRows = printed.lines().filter(l -> l.startsWith("| trainer |")).toList();
        assertThat(trainerRows).isNotEmpty().allSatisfy(row -> {
            String[] cells = row.split("\\|");
            assertThat(cells[4].trim()).as("PyTorch's figure in %s", row).matches("[0-9][0-9,.]* (samples/s|ms)");
            assertThat(cells[5].trim()).as("ratio in %s", row).matches("[0-9]+\\.[0-9]+");
            assertThat(cells[6].trim()).as("peer in %s", row).startsWith("PyTorch");
        });
        String report = Files.readString(out.resolve("bench-perf.md"));
        assertThat(report).contains("# rehearsal bench perf --quick", "- commit: ", "- machine: ", "load average",
                "| section | figure | rehearsal | peer | ratio |");
    }
}
