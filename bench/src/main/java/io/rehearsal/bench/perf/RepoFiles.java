package io.rehearsal.bench.perf;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files of the repository checkout (ops/...), found from the working directory or from where the CLI was built. */
final class RepoFiles {
    private RepoFiles() {
    }

    /**
     * The file at {@code relative} under the working directory or a directory above it, or under the checkout
     * holding bench/target; null if none has it.
     */
    static Path find(String relative) {
        // the working directory or one above it (tests run in a module's directory)
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(relative);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
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
