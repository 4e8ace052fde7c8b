package io.rehearsal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The defaults the docs state are those of the code. docs/commands.md holds every command's options as
 * generated from picocli's model ({@link OptionTables}); docs/curator.md's settings table states each
 * setting's {@code CuratorSettings.defaults()} value and what {@code rehearsal curator} runs with, computed
 * here from the record and from the command's own {@code settings()}. After changing an option or a default,
 * regenerate them: {@code mvn -B -o -pl cli -am test -Dtest=DocsDefaultsTest -Dsurefire.failIfNoSpecifiedTests=false -Ddocs.update=true}.
 */
class DocsDefaultsTest {
    private static final Path DOCS = Path.of("").toAbsolutePath().getParent().resolve("docs");
    private static final boolean UPDATE = Boolean.getBoolean("docs.update");
    private static final String HOW = "the docs and the code disagree; regenerate with "
            + "mvn -B -o -pl cli -am test -Dtest=DocsDefaultsTest -Dsurefire.failIfNoSpecifiedTests=false -Ddocs.update=true, then read the diff";
    private static final List<String> COMMANDS = List.of("broker", "curator", "trainer", "predictor", "promoter",
            "model list", "model show", "model promote", "model pin", "model unpin", "model rollback", "status", "feedback",
            "report");
    /** Settings and the `rehearsal curator` option that sets each (none: the command keeps the library's default). */
    private static final Map<String, String> CURATOR_FLAGS = new LinkedHashMap<>();
    /** What 0 means for a setting, where it means something else than zero. */
    private static final Map<String, String> ZERO = Map.of("intervals.base", "auto", "intervals.max", "auto",
            "emission.idleReplay", "off", "evaluation.everySteps", "never", "memory.longTermCapacity", "none");

    static {
        String[][] flags = {{"batches.size", "--batch-size"}, {"batches.views", "--views"},
                {"batches.freshShare", "--fresh-share"}, {"memory.longTermCapacity", "--buffer-size"},
                {"memory.shortTermCapacity", "--short-term-capacity"}, {"memory.shortTermMaxAge", "--short-term-max-age"},
                {"memory.shortTermRecalls", "--k-short"}, {"intervals.growth", "--interval-growth"},
                {"intervals.base", "--base-interval"}, {"intervals.max", "--max-interval"}, {"emission.linger", "--linger"},
                {"evaluation.everySteps", "--eval-every-steps"}, {"feedback.pendingCapacity", "--pending-capacity"},
                {"feedback.pendingExpiry", "--pending-expiry"}, {"feedback.recallCorrections", "--recall-corrections"}, {"models.contract", "--input-shape` `--classes"},
                {"models.ids", "--model-id"}, {"models.acceptAny", "--accept-any-model"}, {"models.maxModels", "--max-models"},
                {"inputPartitions", "--partitions"}, {"seed", "--seed"}};
        for (String[] f : flags) {
            CURATOR_FLAGS.put(f[0], f[1]);
        }
    }

    @Test
    void shouldDocumentEveryOptionOfEveryCommandWithTheDefaultOfTheCode() throws IOException {
        Path doc = DOCS.resolve("commands.md");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        String generated = text;
        for (String command : COMMANDS) {
            generated = replaceRegion(generated, "options: " + command, OptionTables.table(command));
        }
        check(doc, text, generated);
    }

    @Test
    void shouldStateTheCuratorSettingsDefaultsOfTheLibraryAndOfTheCommand() throws Exception {
        // the library's defaults, and the settings `rehearsal curator` builds when given no option
        CuratorSettings library = CuratorSettings.defaults();
        CuratorCommand command = new CuratorCommand();
        new CommandLine(command).parseArgs();
        CuratorSettings cli = command.settings();
        List<String> options = new CommandLine(new CuratorCommand()).getCommandSpec().options().stream()
                .map(o -> o.longestName()).toList();

        Path doc = DOCS.resolve("curator.md");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        int header = lines.indexOf("| setting | `CuratorSettings.defaults()` | `rehearsal curator` | meaning |");
        assertThat(header).as("the settings table's header in %s", doc).isNotNegative();
        Map<String, Object> libraryValues = leaves(library, "");
        Map<String, Object> cliValues = leaves(cli, "");
        List<String> documented = new ArrayList<>();
        for (int i = header + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            String[] cells = lines.get(i).split(" \\| ", -1);
            Matcher name = Pattern.compile("`([\\w.]+)`").matcher(cells[0]);
            assertThat(name.find()).as("a setting name in %s", lines.get(i)).isTrue();
            String setting = name.group(1);
            documented.add(setting);
            assertThat(libraryValues).as("CuratorSettings has a setting %s; %s", setting, HOW).containsKey(setting);
            Object libraryValue = libraryValues.get(setting);
            Object cliValue = cliValues.get(setting);
            String flag = CURATOR_FLAGS.get(setting);
            if (flag != null) {
                for (String f : flag.split("` `")) {
                    assertThat(options).as("rehearsal curator has %s", f).contains(f);
                }
            } else {
                assertThat(cliValue).as("%s has no option, so the command keeps the library's default", setting)
                        .isEqualTo(libraryValue);
            }
            cells[1] = render(setting, libraryValue);
            cells[2] = flag == null ? "— (same)" : "`" + flag + "` " + render(setting, cliValue)
                    + (cliValue.equals(libraryValue) ? "" : " **(differs)**");
            lines.set(i, String.join(" | ", cells));
        }
        assertThat(documented).as("every setting in %s's table, in the record's order", doc)
                .isEqualTo(List.copyOf(libraryValues.keySet()));
        check(doc, text, String.join("\n", lines));
    }

    /** The settings' leaves by path ({@code batches.size}, ..., {@code seed}), in the records' order. */
    private static Map<String, Object> leaves(Record settings, String prefix) throws ReflectiveOperationException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : settings.getClass().getRecordComponents()) {
            Object value = c.getAccessor().invoke(settings);
            if (value instanceof Record nested && !(value instanceof ModelContract)) {
                out.putAll(leaves(nested, prefix + c.getName() + "."));
            } else {
                out.put(prefix + c.getName(), value);
            }
        }
        return out;
    }

    /** A value as the docs write it: 20,000; 0.125; 1 h; [784], 10 classes; 0 = auto. */
    static String render(String setting, Object value) {
        String zero = ZERO.get(setting);
        boolean isZero = value instanceof Number n && n.doubleValue() == 0 || value instanceof Duration d && d.isZero();
        if (zero != null && isZero) {
            return "0 = " + zero;
        }
        if (value instanceof Integer || value instanceof Long) {
            return String.format(Locale.ROOT, "%,d", ((Number) value).longValue());
        }
        if (value instanceof Double d) {
            return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
        }
        if (value instanceof Duration d) {
            if (d.isZero()) {
                return "0";
            }
            long s = d.toSeconds();
            if (d.toMillis() % 1000 != 0) {
                return d.toMillis() + " ms";
            }
            return s % 86_400 == 0 ? s / 86_400 + " days" : s % 3600 == 0 ? s / 3600 + " h" : s % 60 == 0 ? s / 60 + " min" : s + " s";
        }
        if (value instanceof ModelContract c) {
            return c.inputShape() + ", " + c.numClasses() + " classes";
        }
        if (value instanceof Map<?, ?> m) {
            return m.isEmpty() ? "none" : m.size() + " models";
        }
        if (value instanceof java.util.Collection<?> c) {
            return c.isEmpty() ? "none" : c.stream().map(String::valueOf).sorted().collect(java.util.stream.Collectors.joining(", "));
        }
        return String.valueOf(value);
    }

    private static String replaceRegion(String text, String region, String content) {
        String begin = "<!-- generated: " + region + " -->\n";
        String end = "<!-- end generated: " + region + " -->";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        assertThat(b).as("docs/commands.md has a region '%s'", region).isNotNegative();
        assertThat(e).as("docs/commands.md ends the region '%s'", region).isGreaterThan(b);
        return text.substring(0, b + begin.length()) + content + text.substring(e);
    }

    private static void check(Path doc, String text, String generated) throws IOException {
        if (UPDATE) {
            Files.writeString(doc, generated, StandardCharsets.UTF_8);
        } else {
            assertThat(text).as("%s: %s", doc, HOW).isEqualTo(generated);
        }
    }
}
