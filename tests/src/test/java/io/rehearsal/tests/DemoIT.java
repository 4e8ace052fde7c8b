package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.bench.Main;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.bench.demo.DemoCommand;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.bench.experiment.InProcessExperiment;
import io.rehearsal.bench.experiment.Progress;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A short {@code rehearsal demo} through a real broker ends with a complete, sane report; its console shows progress
 * and no log lines; and it learns exactly what the same stream learns in process, so its outcome does not depend on
 * how the run was timed.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class DemoIT {
    /**
     * Final accuracy a demo that replays must beat. Measured with these settings at commit 4699ef5
     * ({@code ./rehearsal demo --data /tmp/no-data --max-train-per-task 600 --feedback-delay 100 --metrics-port 0
     * --buffer-size M}, REHEARSAL_MKL_SHIM=0 as in this JVM): without replay (M = 0) the model knows only the
     * last task, 20.0%; with the default M = 500, 76.1% (75.4% in a run of this test). So a demo whose replay
     * does nothing fails here, and the floor leaves 25 points for machines and runs to differ.
     * docs/benchmarks-cl.md keeps these figures.
     */
    static final double REPLAY_FLOOR = 0.50;
    /** A line as slf4j-simple writes it: time, the thread where configured, level, logger, message. */
    static final Pattern LOG_LINE = Pattern.compile("\\d{2}:\\d{2}:\\d{2}\\.\\d{3} (\\[[^\\]]*\\] )?(TRACE|DEBUG|INFO|WARN|ERROR) \\S+ - ");

    @Test
    void shouldStreamAllTasksThroughKafkaAndWriteTheReport(KafkaCluster kafka, @TempDir Path out) throws Exception {
        // Given the bundled Fashion-MNIST subset (no --data directory), all 600 training images per task
        String[] args = {"demo", "--bootstrap-servers", kafka.bootstrapServers(), "--data", out.resolve("absent").toString(),
                "--max-train-per-task", "600", "--feedback-delay", "100", "--metrics-port", "0", "--out", out.toString()};

        // When the demo runs, with what it prints on the console captured
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        PrintStream capture = new PrintStream(console, true, StandardCharsets.UTF_8);
        int code;
        try {
            System.setOut(capture);
            System.setErr(capture);
            code = Main.commandLine().execute(args);
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        String printed = console.toString(StandardCharsets.UTF_8);
        stdout.println(printed);

        // Then it succeeds and the report has the accuracy matrix, feedback figures and a plot
        assertThat(code).isZero();
        JsonNode report = JsonCodec.mapper().readTree(out.resolve("demo.json").toFile());
        assertThat(report.get("accuracyMatrix")).hasSize(5);
        assertThat(report.get("accuracyMatrix").get(0).get(0).asDouble()).as("task 0 learned after task 0 (chance: 0.5)").isGreaterThan(0.65);
        assertThat(report.get("finalAccuracy").asDouble()).as("final accuracy: replay keeps the earlier tasks (without it: 0.20)")
                .isGreaterThan(REPLAY_FLOOR).isLessThanOrEqualTo(1.0);
        assertThat(report.get("steps").asLong()).isGreaterThan(0);
        assertThat(report.get("snapshots").asLong()).isGreaterThanOrEqualTo(5);
        assertThat(report.get("corrections").asInt()).isGreaterThan(0);
        assertThat(report.get("deadLetters").asLong()).isZero();
        assertThat(Files.readString(out.resolve("demo.md"))).contains("Accuracy matrix", "final average accuracy");
        assertThat(Files.readAllBytes(out.resolve("demo.png"))).startsWith(0x89, 'P', 'N', 'G');

        // and the console shows a bar per task and the summary, and no log line: those are in demo.log
        assertThat(printed).contains("t0 T-shirt/top/Trouser", "t4 Bag/Ankle boot", "samples", "after t4:",
                "final average accuracy");
        List<String> logLines = printed.lines().filter(l -> LOG_LINE.matcher(l).find()).toList();
        assertThat(logLines).as("log lines on the console").isEmpty();
        assertThat(Files.readAllLines(out.resolve("demo.log"))).anyMatch(l -> LOG_LINE.matcher(l).find());

        // and the same stream and settings in process (the curator's topology through TopologyTestDriver, the trainer)
        // learn exactly the same model: same steps, views, prequential accuracy and accuracy matrix
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs(java.util.Arrays.copyOfRange(args, 1, args.length));
        ClassIncrementalStream stream = ClassIncrementalStream.build(FashionMnist.load(out.resolve("absent")), demo.streamSettings());
        ExperimentResult inProcess = InProcessExperiment.run(stream, demo.spec(demo.streamSettings()), Progress.NONE);
        assertThat(report.get("steps").asLong()).isEqualTo(inProcess.steps());
        assertThat(report.get("views").asLong()).isEqualTo(inProcess.views());
        assertThat(report.get("prequentialAccuracy").asDouble()).isEqualTo(inProcess.prequential());
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 5; j++) {
                assertThat(report.get("accuracyMatrix").get(i).get(j).asDouble()).as("accuracy on t%d after t%d", j, i)
                        .isEqualTo(inProcess.matrix().values()[i][j]);
            }
        }
    }
}
