package io.rehearsal.bench;

import io.rehearsal.bench.demo.DemoCommand;
import picocli.CommandLine;

/**
 * The {@code rehearsal} command of a developer's machine ({@code ./rehearsal}): every runtime subcommand of
 * {@link io.rehearsal.cli.Main}, plus {@code demo} and {@code bench}, which the container image does not carry.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && (args[0].equals("demo") || args[0].equals("bench"))) {
            // before the first logger exists: full logger names in the log file, so that the console can let through
            // the warnings of rehearsal's own components (io.rehearsal.*) and keep Kafka's and DJL's in the file
            System.setProperty("org.slf4j.simpleLogger.showShortLogName", "false");
            System.setProperty("org.slf4j.simpleLogger.showLogName", "true");
        }
        System.exit(commandLine().execute(args));
    }

    /** The runtime command line with the demo and the benchmarks added (tests execute it in-process). */
    public static CommandLine commandLine() {
        CommandLine cli = io.rehearsal.cli.Main.commandLine();
        cli.addSubcommand("demo", new DemoCommand());
        cli.addSubcommand("bench", new BenchCommand());
        return cli;
    }
}
