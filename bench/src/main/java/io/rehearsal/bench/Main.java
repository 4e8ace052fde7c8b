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
