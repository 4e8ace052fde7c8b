package io.rehearsal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.bench.Main;
import io.rehearsal.schemas.JsonCodec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny {@code rehearsal bench cl} through the command line, so the benchmark cannot rot: the bundled
 * Fashion-MNIST subset, 200 images per task, one seed, two configurations at the same compute.
 */
class BenchClTest {
    /**
     * Final accuracy each replaying configuration must beat. Measured on this test's data at commit 4699ef5
     * ({@code ./rehearsal bench cl --data /tmp/no-data --configs finetune,er,vb4 --buffers 100 --seeds 1
     * --max-train-per-task 200}, REHEARSAL_MKL_SHIM=0 as in this JVM): finetune (no replay) 16.3%, er 60.6%,
     * vb4 58.2%. So a build whose replay does nothing fails here, with 18 points left for machines to differ.
     * docs/benchmarks-cl.md keeps these figures.
     */
    static final double REPLAY_FLOOR = 0.40;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldWriteASaneReportForATinyBenchmark(@TempDir Path dir) throws Exception {
        // Given a directory without Fashion-MNIST (the command falls back to the bundled subset)
        Path out = dir.resolve("report");
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        // When the benchmark runs two configurations on 200 images per task
        int code = cli.execute("bench", "cl", "--data", dir.resolve("no-data").toString(), "--out", out.toString(),
                "--configs", "er,vb4", "--buffers", "100", "--seeds", "1", "--max-train-per-task", "200");

        // Then it writes the table, CSV, JSON and plots, and every number is sane
        assertThat(code).as(err.toString()).isZero();
        String md = Files.readString(out.resolve("bench-cl.md"));
        assertThat(md).contains("| er | 100 | 1 |", "| vb4 | 100 | 4 |", "K_short", "B = 128", "steps");
        List<String> csv = Files.readAllLines(out.resolve("bench-cl.csv"));
        assertThat(csv).hasSize(3);
        assertThat(csv.get(0)).startsWith("configuration,buffer,views,k_short");

        JsonNode runs = JsonCodec.mapper().readTree(out.resolve("bench-cl.json").toFile()).get("runs");
        assertThat(runs).hasSize(2);
        long steps = runs.get(0).get("steps").asLong();
        for (JsonNode run : runs) {
            // well above fine-tuning without replay (16.3% on this data)
            assertThat(run.get("finalAccuracy").asDouble()).as("final accuracy of %s (finetune: 0.163)", run.get("configuration"))
                    .isGreaterThan(REPLAY_FLOOR).isLessThanOrEqualTo(1.0);
            // same compute: the same steps (1,000 samples / 8 fresh per step); at most B = 128 views a step (fewer
            // while memory is nearly empty, and for er a 100-sample buffer cannot fill 96 recall groups every I_min = 2 steps)
            assertThat(run.get("steps").asLong()).isEqualTo(steps).isEqualTo(1000 / 8);
            assertThat(run.get("views").asLong()).isBetween(steps * 128 / 2, steps * 128);
            // forgetting is a share, and the matrix is 5 x 5
            assertThat(run.get("forgetting").asDouble()).isBetween(0.0, 1.0);
            assertThat(run.get("accuracyMatrix")).hasSize(5);
        }
        for (String png : List.of("bench-cl-M100.png", "curves-er-M100.png", "curves-vb4-M100.png")) {
            var image = ImageIO.read(out.resolve(png).toFile());
            assertThat(image).as(png).isNotNull();
            assertThat(image.getWidth()).isGreaterThan(100);
        }
    }
}
