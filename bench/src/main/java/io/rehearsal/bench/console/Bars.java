package io.rehearsal.bench.console;

import java.io.PrintStream;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;
import me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars (me.tongfei:progressbar) on the console: redrawn in place on a terminal, with rate and ETA and
 * live figures as the bar's extra message. Where the output is not a terminal (a pipe, a CI log) a bar prints
 * a plain line now and then ({@link #PLAIN_EVERY_MILLIS}) and when it ends, instead of carriage returns.
 */
public final class Bars {
    /** How often a bar writes a line when the console is not a terminal. */
    static final long PLAIN_EVERY_MILLIS = 10_000;

    /** Whole units per second ("0 samples/s"; the library's default pattern, #.0, prints ".0" for zero). */
    static final DecimalFormat RATE = new DecimalFormat("#,##0", DecimalFormatSymbols.getInstance(Locale.ROOT));

    private final PrintStream out;
    private final boolean terminal;

    public Bars(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Bars on standard output, redrawn in place when it is a terminal. */
    public static Bars onStdout() {
        return new Bars(System.out, System.console() != null);
    }

    /** Where bars and summary lines go. */
    public PrintStream out() {
        return out;
    }

    /**
     * A started bar.
     *
     * @param name its label
     * @param max  the count at 100%
     * @param unit what is counted ("samples", "records"), shown in the rate
     */
    public ProgressBar bar(String name, long max, String unit) {
        ProgressBarConsumer consumer = terminal ? new InteractiveConsoleProgressBarConsumer(out, 160)
                : new PlainLines(out);
        return new ProgressBarBuilder().setTaskName(name).setInitialMax(max).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).continuousUpdate().showSpeed(RATE).setUnit(" " + unit, 1)
                .setConsumer(consumer).build();
    }

    /** A plain line at most every few seconds, and always the last one (the bar's final state, on close). */
    private static final class PlainLines implements ProgressBarConsumer {
        private final PrintStream out;
        private long last;
        private String pending;
        private String printed;

        PlainLines(PrintStream out) {
            this.out = out;
        }

        @Override
        public int getMaxRenderedLength() {
            return 160;
        }

        @Override
        public synchronized void accept(String rendered) {
            long now = System.currentTimeMillis();
            if (now - last >= PLAIN_EVERY_MILLIS) {
                printed = rendered.stripTrailing();
                out.println(printed);
                last = now;
                pending = null;
            } else {
                pending = rendered;
            }
        }

        @Override
        public synchronized void close() {
            if (pending != null && !pending.stripTrailing().equals(printed)) {
                out.println(pending.stripTrailing());
            }
            pending = null;
        }
    }
}
