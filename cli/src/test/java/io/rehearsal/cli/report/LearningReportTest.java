package io.rehearsal.cli.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.rehearsal.schemas.JsonCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LearningReportTest {
    private static final Instant T0 = Instant.parse("2026-12-07T00:00:00Z");

    /** A snapshot every 10 s and 100 steps that learned 800 fresh items of {@code tag}, 2 s old at publication. */
    private static SnapshotPoint point(int v, String tag, Map<String, Double> eval) {
        Instant created = T0.plusSeconds(10L * v);
        return new SnapshotPoint(v, 100L * v, created, 12_800L * v, null, 100L * v, eval,
                tag == null ? Map.of() : Map.of(tag, 800L), created.minusSeconds(2));
    }

    @Test
    void shouldBuildTheMatrixByTagFromThePhasesTheSnapshotsLearned() {
        // Given a model that learned t0 (versions 1-2), then t1 (3-4), with a replay-only snapshot (5) at the end
        List<SnapshotPoint> points = List.of(
                point(1, "t0", Map.of("t0", 0.80)),
                point(2, "t0", Map.of("t0", 0.95)),
                point(3, "t1", Map.of("t0", 0.90, "t1", 0.50)),
                point(4, "t1", Map.of("t0", 0.70, "t1", 0.90)),
                point(5, null, Map.of("t0", 0.75, "t1", 0.85)));

        LearningReport report = new LearningReport("m", points, "test");

        // Then the phases are t0 (ending at v2) and t1 (ending at v5, the replay-only snapshot included)
        assertThat(report.phases()).extracting(LearningReport.Phase::tag).containsExactly("t0", "t1");
        assertThat(report.rows()).extracting(SnapshotPoint::version).containsExactly(2L, 5L);
        assertThat(report.tags()).containsExactly("t0", "t1");
        // final accuracy: the last row's mean; forgetting: t0's best after its phase (0.95) minus its last (0.75)
        assertThat(report.finalAccuracy()).isCloseTo(0.80, within(1e-9));
        assertThat(report.forgetting()).isCloseTo(0.20, within(1e-9));
        assertThat(report.matrixMarkdown()).contains("| t0 | 2 | 200 | 95.0 | — | 95.0 % |", "| t1 | 5 | 500 | 75.0 | 85.0 | 80.0 % |");
        assertThat(report.boundaries()).containsExactly(Map.entry(300.0, "t1"));
        // the curves have a point per evaluation
        assertThat(report.curves().get("t0")).hasSize(5);
        assertThat(report.curves().get("t1")).hasSize(3);
    }

    @Test
    void shouldSummariseThroughputAndFreshness() {
        List<SnapshotPoint> points = new ArrayList<>();
        for (int v = 1; v <= 11; v++) {
            points.add(point(v, "t0", Map.of("t0", 0.9)));
        }
        Map<String, Double> s = new LearningReport("m", points, "test").summary();
        // 10 snapshots after the first, 100 s: 10 steps/s, 1,280 views/s, 80 fresh samples/s, 2 s fresh
        assertThat(s.get("seconds")).isEqualTo(100.0);
        assertThat(s.get("stepsPerSecond")).isEqualTo(10.0);
        assertThat(s.get("sampleViewsPerSecond")).isEqualTo(1280.0);
        assertThat(s.get("freshSamplesPerSecond")).isEqualTo(80.0);
        assertThat(s.get("freshnessP50Seconds")).isEqualTo(2.0);
        assertThat(s.get("freshnessMaxSeconds")).isEqualTo(2.0);
        assertThat(s.get("forgetting")).isNaN(); // one phase
    }

    @Test
    void shouldReportTheLatestEvaluationOfSnapshotsThatDoNotSayWhatTheyLearned(@TempDir Path dir) throws Exception {
        // Given snapshots written before schema version 3: no tags learned, no event times
        List<SnapshotPoint> points = List.of(
                new SnapshotPoint(1, 100, T0, 1000, 0.5, 100, Map.of("a", 0.5), Map.of(), null),
                new SnapshotPoint(2, 200, T0.plus(Duration.ofSeconds(5)), 2000, 0.6, 200, Map.of("a", 0.6), Map.of(), null));
        LearningReport report = new LearningReport("m", points, "test");

        // When the report is written
        report.write(dir, JsonCodec.mapper());

        // Then it has the latest evaluation as its only row, says what it lacks, and draws the curve
        assertThat(report.rows()).extracting(SnapshotPoint::version).containsExactly(2L);
        assertThat(Files.readString(dir.resolve("report.md"))).contains("| latest | 2 | 200 | 60.0 |", "before schema version 3",
                "no freshness");
        assertThat(ImageIO.read(dir.resolve("report.png").toFile()).getWidth()).isEqualTo(1100);
        assertThat(JsonCodec.mapper().readTree(dir.resolve("report.json").toFile()).get("snapshots")).hasSize(2);
    }
}
