package io.rehearsal.bench.console;

import picocli.CommandLine.Option;

/** The console options every demo and benchmark command shares (a picocli mixin). */
public final class ConsoleOptions {
    @Option(names = "--verbose", description = "Print the components' log lines on the console too (by default they go "
            + "to a log file in the report directory, and only warnings someone can act on reach the console).")
    boolean verbose;

    public boolean verbose() {
        return verbose;
    }
}
