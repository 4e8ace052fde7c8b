package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every measured figure in README.md says how to reproduce it: a line "Measured with `COMMAND` at commit SHA"
 * (it may wrap onto the next line) in the same section, at most {@value #NEAR} lines above the figure.
 * Figures are what measurements look like: decimal percentages and percentage ranges, "±", rates per
 * second, durations and "points", outside code. Whole percentages ("10% of labels") are not; a setting's
 * duration is best written as its flag in code ({@code --snapshot-every 5s}).
 */
class ReadmeFiguresTest {
    static final int NEAR = 20;
    private static final Pattern FIGURE = Pattern.compile(
            "\\d+\\.\\d+ ?%"                                   // 79.1%
            + "|\\d+ ?[–-] ?\\d+(\\.\\d+)? ?%"                 // 74–76%
            + "|±"                                             // 73.9 ± 1.9
            + "|\\d[\\d,.]* ?[a-z]+/s\\b"                      // 820 samples/s, 40k records/s
            + "|\\b\\d[\\d,.]* ?(ms|µs|s|min)\\b"              // 72 s, 1.3 ms
            + "|\\d+(\\.\\d+)? points");                       // 19.5 points
    private static final Pattern INLINE_CODE = Pattern.compile("`[^`]*`");
    private static final Pattern MARKER = Pattern.compile("(?i)measured with\\s+`[^`]+`.*?\\bcommit\\s+[0-9a-f]{7,40}\\b");

    /** "line N: text" of each line with a figure and no marker near above it. */
    static List<String> figuresWithoutSource(List<String> lines) {
        List<String> missing = new ArrayList<>();
        int marker = -1;
        boolean inCode = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("```")) {
                inCode = !inCode;
                continue;
            }
            if (inCode) {
                continue; // commands and their comments ("~30 min") say how long they take, not what they measured
            }
            if (line.startsWith("#")) {
                marker = -1; // a new section needs its own
            }
            String withNext = i + 1 < lines.size() ? line + " " + lines.get(i + 1) : line;
            Matcher m = MARKER.matcher(withNext);
            if (m.find() && m.start() < line.length()) {
                marker = i;
            }
            String prose = INLINE_CODE.matcher(line).replaceAll("");
            if (FIGURE.matcher(prose).find() && (marker < 0 || i - marker > NEAR)) {
                missing.add("line " + (i + 1) + ": " + line);
            }
        }
        return missing;
    }

    @Test
    void everyFigureInTheReadmeShouldNameItsCommandAndCommit() throws Exception {
        List<String> readme = Files.readAllLines(Tools.repo().resolve("README.md"));
        assertThat(figuresWithoutSource(readme))
                .as("figures in README.md without a \"Measured with `COMMAND` at commit SHA\" line at most %d lines above"
                        + " in their section: add one, or move the figure to docs/CHANGELOG.md", NEAR)
                .isEmpty();
    }

    @Test
    void shouldTellFiguresWithASourceFromFiguresWithout() {
        // Given figures under a marker, after a new heading, and settings that are not figures
        List<String> text = List.of(
                "## Results",
                "Measured with `./rehearsal demo` at",
                "commit 32bd332: **79.1% final accuracy**, 72 s, 820 samples/s.",
                "| er | 73.9 ± 1.9 |",
                "## Other",
                "The paper's own code reaches about 74–76% here.",
                "10% of labels are flipped; a snapshot every 100 steps or 5 seconds (`--snapshot-every 5s`).",
                "It took 72 s.",
                "```",
                "./rehearsal bench cl   # 30 min",
                "```",
                "Measured with `./rehearsal bench cl` (no commit): 80.2% at M = 500.");

        // Then only the figures without a marker in their own section are listed
        assertThat(figuresWithoutSource(text)).containsExactly(
                "line 6: The paper's own code reaches about 74–76% here.",
                "line 8: It took 72 s.",
                "line 12: Measured with `./rehearsal bench cl` (no commit): 80.2% at M = 500.");
    }
}
