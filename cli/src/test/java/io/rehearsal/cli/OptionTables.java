package io.rehearsal.cli;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Renders a command's options as a Markdown table, from picocli's model of the command (the code): name,
 * built-in default, environment variable ({@link LayeredDefaults}) and description. docs/commands.md holds
 * these tables; {@link DocsDefaultsTest} fails when they and the code differ.
 */
final class OptionTables {
    private OptionTables() {
    }

    /**
     * The table of {@code rehearsal <command>}'s options, without help and version and hidden ones; a subcommand
     * is named with its path ({@code "model pin"}).
     */
    static String table(String command) {
        CommandLine line = new CommandLine(new Main());
        for (String name : command.split(" ")) {
            line = line.getSubcommands().get(name);
        }
        CommandSpec spec = line.getCommandSpec();
        StringBuilder b = new StringBuilder("| option | default | environment | meaning |\n|---|---|---|---|\n");
        List<OptionSpec> options = spec.options().stream()
                .filter(o -> !o.hidden() && !o.usageHelp() && !o.versionHelp())
                .toList();
        for (OptionSpec o : options) {
            String name = o.longestName();
            String def = o.defaultValue() == null ? "—" : "`" + o.defaultValue() + "`";
            String env = "`REHEARSAL_" + name.substring(2).toUpperCase(Locale.ROOT).replace('-', '_') + "`";
            b.append("| `").append(name).append("` | ").append(def).append(" | ").append(env).append(" | ")
                    .append(description(o)).append(" |\n");
        }
        return b.toString();
    }

    /** The description without the default (it has its own column), with candidates spelled out. */
    static String description(OptionSpec o) {
        // picocli hands the description out with ${DEFAULT-VALUE} already replaced by the default
        String d = String.join(" ", o.description()).strip();
        if (o.defaultValue() != null) {
            String value = Pattern.quote(o.defaultValue());
            d = d.replaceAll("\\s*\\(default: " + value + "\\)", "").replaceAll(";\\s*default: " + value + "\\)", ")")
                    .replaceAll(",\\s*default: " + value + "\\)", ")");
        }
        if (o.completionCandidates() != null) {
            List<String> candidates = new java.util.ArrayList<>();
            o.completionCandidates().forEach(candidates::add);
            d = d.replace("${COMPLETION-CANDIDATES}", candidates.stream().collect(Collectors.joining(", ")));
        }
        d = d.replace("|", "\\|").replaceAll("\\.\\.\\.\\s*$", "...");
        return d.endsWith(".") || d.endsWith("...") ? d : d + ".";
    }
}
