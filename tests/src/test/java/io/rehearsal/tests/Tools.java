package io.rehearsal.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs external programs (kcat, python3) from tests, failing with their output when they fail. */
final class Tools {
    private Tools() {
    }

    /**
     * The Debian python3 (with python3-avro, -numpy, -confluent-kafka), preferred over other pythons on PATH.
     * Whether a tool is installed is {@link io.rehearsal.testkit.RequiresTool}'s question.
     */
    static String python() {
        return io.rehearsal.testkit.Tool.python();
    }

    /** The repository root (the tests run in tests/). */
    static Path repo() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("examples")) ? here : here.getParent();
    }

    /** Runs a command to completion and returns its output; throws with the output if it fails. */
    static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + command);
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(command + " exited " + p.exitValue() + ":\n" + text);
        }
        return text;
    }
}
