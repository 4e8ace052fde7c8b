package io.rehearsal.models.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/** TEMPORARY diagnostics (not to be committed): a ring of per-step statistics, dumped on a non-finite loss. */
final class StepDiag {
    static final String DIR = System.getenv("REHEARSAL_DIAG_DIR");
    static final boolean ON = DIR != null;
    static final boolean COPY_INPUT = Boolean.getBoolean("rehearsal.diag.copyInput");
    static final boolean KEEP_LONGS = Boolean.getBoolean("rehearsal.diag.keepLongs");
    static final boolean TRACE = System.getenv("REHEARSAL_DIAG_TRACE") != null;
    private final Deque<String> ring = new ArrayDeque<>();

    void add(String line) {
        if (TRACE) {
            System.err.println("TRACE " + line);
        }
        if (ring.size() >= 40) {
            ring.removeFirst();
        }
        ring.addLast(line);
    }

    String history() {
        return String.join("\n", ring);
    }

    static void write(String name, byte[] bytes) {
        try {
            Path dir = Path.of(DIR);
            Files.createDirectories(dir);
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
