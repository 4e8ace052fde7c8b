package io.rehearsal.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code rehearsal} command as it runs in production (the container image): each subcommand wires settings
 * and lifecycle; the work lives in the modules. {@code io.rehearsal.bench.Main} adds the demo and the
 * benchmarks on a developer's machine.
 */
@Command(name = "rehearsal",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "A Kafka-native continual learner: view-batch rehearsal on a stream.",
        subcommands = {BrokerCommand.class, CuratorCommand.class, TrainerCommand.class, PredictorCommand.class,
                PromoterCommand.class, ModelAdminCommand.class, StatusCommand.class, FeedbackCommand.class, ReportCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (tests execute it in-process). */
    public static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setDefaultValueProvider(LayeredDefaults.fromEnvironment());
    }
}
