package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.Tool;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code .ci/run} provides every tool a test declares with {@link io.rehearsal.testkit.RequiresTool}, runs
 * the README's test command with CI set (so a missing tool fails rather than skips), and fails on skipped tests.
 */
class CiScriptTest {

    private static String script() throws Exception {
        return Files.readString(Tools.repo().resolve(".ci/run"));
    }

    @Test
    void shouldInstallTheDebianPackageOfEveryTool() throws Exception {
        // Given the packages .ci/run installs
        String script = script();
        Matcher m = Pattern.compile("(?m)^packages=\\(([^)]*)\\)").matcher(script);
        assertThat(m.find()).as(".ci/run has a packages=(...) line").isTrue();
        List<String> installed = Arrays.asList(m.group(1).trim().split("\\s+"));

        // Then every tool a test may require is among them, or (kubectl) checked before the build
        for (Tool tool : Tool.values()) {
            tool.debianPackage().ifPresentOrElse(
                    p -> assertThat(installed).as("Debian package of %s in .ci/run", tool).contains(p),
                    () -> assertThat(script).as(".ci/run stops early without %s", tool)
                            .contains("if ! command -v " + tool.toolName() + " >/dev/null; then"));
        }
    }

    @Test
    void shouldRunTheReadmesCommandWithCiSetAndFailOnSkippedTests() throws Exception {
        String script = script();
        assertThat(Files.readString(Tools.repo().resolve("README.md"))).contains("mvn -B verify");
        assertThat(script).contains("export CI=true", "\nmvn -B verify || status=$?\n", "skipped: ${all[3]}",
                "if [ \"${all[3]}\" -gt 0 ]; then");
    }
}
