package io.rehearsal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

    @Test
    void shouldListSubcommandsInHelp() {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));

        int code = cli.execute("--help");

        assertThat(code).isZero();
        assertThat(out.toString()).contains("rehearsal", "broker");
    }

    @Test
    void shouldRefuseAnUnknownOptionWithUsage() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        int code = cli.execute("broker", "--no-such-option");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("Unknown option: '--no-such-option'");
    }

    @Test
    void shouldDescribeThePredictorAndFeedbackCommands() {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));

        assertThat(cli.execute("--help")).isZero();
        assertThat(cli.execute("predictor", "--help")).isZero();
        assertThat(cli.execute("feedback", "--help")).isZero();

        assertThat(out.toString()).contains("predictor", "feedback", "--model-id", "POST /predict", "--snapshot-key-file",
                "--sample", "--kind", "--trust", "LABEL, CONFIRM or REJECT");
    }

    @Test
    void shouldRefuseLabelFeedbackWithoutALabelBeforeConnecting() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        int code = cli.execute("feedback", "--sample", "s1", "--kind", "LABEL", "--bootstrap-servers", "localhost:1");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("LABEL feedback for sample s1 has no label; give the correct class id");
    }

    @Test
    void shouldRefuseTrustOutsideZeroToOne() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        int code = cli.execute("feedback", "--sample", "s1", "--kind", "CONFIRM", "--trust", "1.5");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("feedback for sample s1: trust 1.5 is outside (0, 1]");
    }

    @Test
    void shouldTakeModelIdAsEveryOtherCommandDoesAndTheOldNameWithAWarning() {
        // Given feedback without a label (refused before connecting), with the model named the old way
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        int code = cli.execute("feedback", "--sample", "s1", "--kind", "LABEL", "--model", "fashion",
                "--bootstrap-servers", "localhost:1");

        // Then --model is still read, with a warning naming the option to use
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("warning: --model is deprecated and will be removed; use --model-id")
                .contains("LABEL feedback for sample s1 has no label");
        // and the help lists --model-id only
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertThat(cli.execute("feedback", "--help")).isZero();
        assertThat(out.toString()).contains("--model-id=<modelId>").doesNotContain("--model=");
    }

    @Test
    void shouldRefuseTheOldAndTheNewModelOptionWhenTheyDisagree() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));

        int code = cli.execute("feedback", "--sample", "s1", "--kind", "CONFIRM", "--model", "a", "--model-id", "b",
                "--bootstrap-servers", "localhost:1");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--model a and --model-id b disagree; give only --model-id");
    }
}
