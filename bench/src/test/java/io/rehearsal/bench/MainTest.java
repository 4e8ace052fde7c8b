package io.rehearsal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {
    @Test
    void shouldOfferTheRuntimeCommandsAndTheDemoAndBenchmarks() {
        StringWriter out = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));

        assertThat(cli.execute("--help")).isZero();

        assertThat(out.toString()).contains("broker", "curator", "trainer", "predictor", "feedback", "demo", "bench");
    }

    @Test
    void shouldKeepTheDemoAndBenchmarksOutOfTheRuntimeCommand() {
        assertThat(io.rehearsal.cli.Main.commandLine().getSubcommands()).doesNotContainKeys("demo", "bench")
                .containsKeys("broker", "curator", "trainer", "predictor", "feedback");
    }

    @Test
    void shouldRenderEveryCommandsHelpWithoutPicocliWarnings() {
        // a description with a bare '%' (picocli formats descriptions) prints "[picocli WARN] Could not format" on stderr
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        List<String> commands = new ArrayList<>();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            Deque<CommandLine> todo = new ArrayDeque<>(List.of(Main.commandLine()));
            while (!todo.isEmpty()) {
                CommandLine c = todo.pop();
                commands.add(c.getCommandSpec().qualifiedName());
                assertThat(c.getUsageMessage()).isNotBlank();
                todo.addAll(c.getSubcommands().values());
            }
        } finally {
            System.setErr(err);
        }
        assertThat(commands).contains("rehearsal bench feedback", "rehearsal trainer");
        assertThat(captured.toString(StandardCharsets.UTF_8)).as("stderr while rendering help").doesNotContain("picocli WARN");
    }
}
