package io.rehearsal.bench.perf;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files of the repository checkout (ops/...), found from the working directory or from where the CLI was built. */
final class RepoFiles {
    private RepoFiles() {
    }

    /** The file at {@code relative} under the working directory or the checkout holding bench/target; null if neither has it. */
    static Path find(String relative) {
        Path here = Path.of(relative).toAbsolutePath();
        if (Files.isRegularFile(here)) {
            return here;
        }
        try {
            // bench/target/classes or bench/target/rehearsal-bench-*.jar -> the checkout is three levels up
            Path code = Path.of(RepoFiles.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path root = code.getParent() == null ? null : code.getParent().getParent().getParent();
            Path candidate = root == null ? null : root.resolve(relative);
            return candidate != null && Files.isRegularFile(candidate) ? candidate : null;
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
