package io.rehearsal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.schemas.JsonCodec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small {@code rehearsal bench feedback} through the command line: clean labels, 30% flipped, and the same flips
 * corrected by LABEL and by REJECT feedback, on the bundled Fashion-MNIST subset.
 */
class BenchFeedbackTest {

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldMeasureWhatFeedbackWinsBackOfWhatFlippedLabelsCost(@TempDir Path dir) throws Exception {
        // Given a directory without Fashion-MNIST (the bundled subset), 300 images per task, one seed
        Path out = dir.resolve("report");
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        // When the benchmark runs clean, 30% flipped, and the flips corrected 50 samples later
        int code = cli.execute("bench", "feedback", "--data", dir.resolve("no-data").toString(), "--out", out.toString(),
                "--noise", "0.3", "--delays", "50", "--seeds", "1", "--max-train-per-task", "300");

        // Then there are four runs, and the flips cost accuracy that the corrections win back
        assertThat(code).as(err.toString()).isZero();
        JsonNode runs = JsonCodec.mapper().readTree(out.resolve("bench-feedback.json").toFile()).get("runs");
        assertThat(runs).hasSize(4);
        Map<String, JsonNode> byCondition = new HashMap<>();
        runs.forEach(r -> byCondition.put(r.get("noise").asDouble() + "/" + r.get("feedback").asText(), r));
        double clean = byCondition.get("0.0/none").get("finalAccuracy").asDouble();
        double noisy = byCondition.get("0.3/none").get("finalAccuracy").asDouble();
        JsonNode label = byCondition.get("0.3/LABEL");
        JsonNode reject = byCondition.get("0.3/REJECT");
        assertThat(noisy).as("30%% flipped labels cost accuracy (clean %.3f)", clean).isLessThan(clean - 0.03);
        assertThat(label.get("finalAccuracy").asDouble()).as("LABEL feedback wins accuracy back").isGreaterThan(noisy + 0.02);
        assertThat(label.get("gapShare").asDouble()).isEqualTo((label.get("finalAccuracy").asDouble() - noisy) / (clean - noisy));
        assertThat(reject.has("gapShare")).isTrue();
        assertThat(Files.readString(out.resolve("bench-feedback.md"))).contains("| 30% flipped | LABEL | 50 | 1 |", "gap recovered");

        // When LABEL runs again with the runs without feedback taken from that report
        Path again = dir.resolve("again");
        code = cli.execute("bench", "feedback", "--data", dir.resolve("no-data").toString(), "--out", again.toString(),
                "--noise", "0.3", "--delays", "50", "--kinds", "LABEL", "--seeds", "1", "--max-train-per-task", "300",
                "--baseline", out.resolve("bench-feedback.json").toString());

        // Then only LABEL ran, and it learned and recovered what it did the first time (the stream and the model are seeded)
        assertThat(code).as(err.toString()).isZero();
        JsonNode rerun = JsonCodec.mapper().readTree(again.resolve("bench-feedback.json").toFile()).get("runs");
        assertThat(rerun).hasSize(3);
        assertThat(rerun.get(0).get("finalAccuracy").asDouble()).isEqualTo(clean);
        assertThat(rerun.get(1).get("finalAccuracy").asDouble()).isEqualTo(noisy);
        assertThat(rerun.get(2).get("feedback").asText()).isEqualTo("LABEL");
        assertThat(rerun.get(2).get("finalAccuracy").asDouble()).isEqualTo(label.get("finalAccuracy").asDouble());
        assertThat(rerun.get(2).get("gapShare").asDouble()).isEqualTo(label.get("gapShare").asDouble());
        assertThat(JsonCodec.mapper().readTree(again.resolve("bench-feedback.json").toFile()).get("header").asText())
                .contains("Runs without feedback taken from " + out.resolve("bench-feedback.json"));
    }
}
