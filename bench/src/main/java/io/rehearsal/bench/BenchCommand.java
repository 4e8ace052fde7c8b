package io.rehearsal.bench;

import picocli.CommandLine.Command;

/** {@code rehearsal bench}: the benchmarks, each a subcommand. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks that print figures (and write reports): cl = continual-learning quality, "
                + "feedback = what human feedback wins back of what wrong labels cost, "
                + "perf = speed against peers, chaos = faults and exactly-once, restart = a curator's restart time after SIGKILL.",
        subcommands = {BenchClCommand.class, BenchFeedbackCommand.class, BenchPerfCommand.class, BenchChaosCommand.class,
                BenchRestartCommand.class})
public final class BenchCommand {
}
