package io.rehearsal.bench.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import me.tongfei.progressbar.ProgressBar;
import org.junit.jupiter.api.Test;

class BarsTest {
    @Test
    void shouldPrintTheRateInWholeUnitsAndTheFinalStateWhereTheConsoleIsNotATerminal() throws Exception {
        // Given bars on a stream that is not a terminal
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Bars bars = new Bars(new PrintStream(printed, true, StandardCharsets.UTF_8), false);

        // When a bar stays at zero for over a second, then ends
        ProgressBar bar = bars.bar("t0", 100, "samples");
        Thread.sleep(1_200);
        bar.close();

        // Then it printed plain lines (no carriage return) with a rate of 0 samples/s, not ".0 samples/s"
        String text = printed.toString(StandardCharsets.UTF_8);
        assertThat(text).doesNotContain("\r").contains("0/100 samples", " 0 samples/s").doesNotContain(".0 samples/s");
    }
}
