package io.rehearsal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

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
}
