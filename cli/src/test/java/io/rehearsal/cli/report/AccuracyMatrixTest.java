package io.rehearsal.cli.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccuracyMatrixTest {

    @Test
    void shouldComputeFinalAccuracyAndForgettingLikeChaudhryEtAl() {
        // Given three tasks: task 0 peaks at 0.95 then falls to 0.60, task 1 goes 0.90 -> 0.80
        AccuracyMatrix m = new AccuracyMatrix(3);
        m.set(0, 0, 0.90);
        m.set(1, 0, 0.95);
        m.set(1, 1, 0.90);
        m.set(2, 0, 0.60);
        m.set(2, 1, 0.80);
        m.set(2, 2, 0.99);

        assertThat(m.finalAverageAccuracy()).isCloseTo((0.60 + 0.80 + 0.99) / 3, within(1e-12));
        assertThat(m.averageForgetting()).isCloseTo(((0.95 - 0.60) + (0.90 - 0.80)) / 2, within(1e-12));
        assertThat(m.averageAccuracyAfterEachTask()).containsExactly(new double[] {0.90, 0.925, (0.60 + 0.80 + 0.99) / 3},
                within(1e-12));
        assertThat(m.toMarkdown(new String[] {"t0", "t1", "t2"})).contains("| t2 | 60.0 | 80.0 | 99.0 | 79.7 |");
    }

    @Test
    void shouldHaveNoForgettingWithOneTask() {
        AccuracyMatrix m = new AccuracyMatrix(1);
        m.set(0, 0, 0.5);

        assertThat(m.averageForgetting()).isZero();
        assertThat(m.finalAverageAccuracy()).isEqualTo(0.5);
    }

    @Test
    void shouldWriteAPngPlot(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("curves.png");

        LearningCurves.write(png, "accuracy per task", "accuracy",
                Map.of("t0", List.of(new LearningCurves.Point(0, 0.5), new LearningCurves.Point(100, 0.9))),
                Map.of(50.0, "t1"), 640, 400);

        byte[] bytes = Files.readAllBytes(png);
        assertThat(bytes).startsWith(0x89, 'P', 'N', 'G');
        assertThat(bytes.length).isGreaterThan(2000);
    }
}
