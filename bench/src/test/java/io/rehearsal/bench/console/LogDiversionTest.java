package io.rehearsal.bench.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogDiversionTest {

    @Test
    void shouldWriteEveryLineToTheFileAndShowOnlyOurWarningsOnce(@TempDir Path dir) throws Exception {
        // Given a console and log lines as slf4j-simple writes them with full logger names
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream before = System.err;
        Path file = dir.resolve("logs").resolve("demo.log");

        // When they are printed on System.err while diverted
        try (LogDiversion d = LogDiversion.start(file, new PrintStream(console, true, StandardCharsets.UTF_8), false)) {
            System.err.println("00:23:03.327 INFO org.apache.kafka.streams.KafkaStreams - Kafka Streams version: 4.4.0");
            System.err.println("00:23:03.730 WARN org.apache.kafka.clients.producer.internals.Sender - retrying (2147483646 attempts left)");
            System.err.println("00:23:04.001 INFO io.rehearsal.models.train.TrainerApp - model m: published version 1");
            System.err.println("00:23:05.100 WARN io.rehearsal.models.train.TrainerApp - model m: rejected batch at t-0@12 (EMPTY): fix the producer");
            System.err.println("00:23:06.200 WARN io.rehearsal.models.train.TrainerApp - model m: rejected batch at t-0@13 (EMPTY): fix the producer");
            System.err.print("00:23:07.300 ERROR ai.djl.util.cuda.CudaUtils - No CUDA runtime found\n");
            System.err.println("Exception in thread \"trainer\" java.lang.IllegalStateException: boom");
            System.err.println("\tat io.rehearsal.Foo.bar(Foo.java:1)");
        }

        // Then the file has every line, System.err is back, and the console only rehearsal's warning (once) and the failure
        assertThat(Files.readAllLines(file)).hasSize(8);
        assertThat(System.err).isSameAs(before);
        assertThat(console.toString(StandardCharsets.UTF_8).lines()).containsExactly(
                "warn: model m: rejected batch at t-0@12 (EMPTY): fix the producer (TrainerApp) [log: " + file + "]",
                "Exception in thread \"trainer\" java.lang.IllegalStateException: boom [log: " + file + "]");
    }

    @Test
    void shouldLeaveLogsOnTheConsoleWhenVerbose(@TempDir Path dir) throws Exception {
        PrintStream before = System.err;
        try (LogDiversion d = LogDiversion.start(dir.resolve("demo.log"), System.out, true)) {
            assertThat(System.err).isSameAs(before);
            assertThat(d.file()).isNull();
        }
        assertThat(dir.resolve("demo.log")).doesNotExist();
    }

    @Test
    void shouldTellLogLinesFromOtherOutput() {
        assertThat(LogDiversion.LOG_LINE.matcher("00:23:03.327 INFO KafkaStreams - Kafka Streams version: 4.4.0").matches()).isTrue();
        assertThat(LogDiversion.LOG_LINE.matcher("t0 T-shirt/top/Trouser 100% [=====] 500/500 samples").matches()).isFalse();
        // with the thread shown (the tests' configuration)
        assertThat(LogDiversion.actionable("00:41:36.433 [main] WARN io.rehearsal.bench.data.FashionMnist - not found")).isTrue();
        assertThat(LogDiversion.actionable("00:41:39.261 [main] WARN ai.djl.util.cuda.CudaUtils - Failed to detect GPU count")).isFalse();
        // a warning with a short logger name cannot be told to be ours: it stays in the file
        assertThat(LogDiversion.actionable("00:23:05.100 WARN TrainerApp - model m: rejected batch")).isFalse();
    }
}
