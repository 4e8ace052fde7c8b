package io.rehearsal.models.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The blob format's promise: numpy reads it. Runs Debian's /usr/bin/python3 with python3-numpy. */
class NumpyInteropTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @Test
    void shouldBeReadableByNumpyLoad(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "skipped: /usr/bin/python3 is not installed, so numpy cannot be checked");
        assumeTrue(run(dir, "import numpy").exitCode == 0,
                "skipped: python3-numpy is not installed (apt-get install python3-numpy to run this check)");
        // Given parameters with awkward values and shapes
        float[] w = {1.5f, -0.0f, Float.MIN_VALUE, 3.4028235e38f, -1e-7f, 0.1f};
        List<NamedTensor> tensors = List.of(new NamedTensor("02Linear_weight", new long[] {2, 3}, w),
                new NamedTensor("02Linear_bias", new long[] {2}, new float[] {7f, -8f}),
                new NamedTensor("scalar", new long[] {}, new float[] {42f}));
        Path npz = dir.resolve("params.npz");
        Files.write(npz, SnapshotCodec.encodeParameters(tensors));
        // When numpy loads it
        Result r = run(dir, "import numpy as np, sys\n"
                + "d = np.load(sys.argv[1])\n"
                + "for k in d.files:\n"
                + "    a = d[k]\n"
                + "    print(k, a.dtype, a.shape, a.astype('<f4').tobytes().hex())\n", npz.toString());
        // Then it sees every name, shape, dtype and bit-exact value, in order
        assertThat(r.exitCode).as(r.output).isZero();
        assertThat(r.output.lines()).containsExactly(
                "02Linear_weight float32 (2, 3) " + hex(w),
                "02Linear_bias float32 (2,) " + hex(new float[] {7f, -8f}),
                "scalar float32 () " + hex(new float[] {42f}));
    }

    /** Little-endian IEEE-754 bytes in hex, as numpy's tobytes().hex() prints them. */
    private static String hex(float[] values) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(values.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return java.util.HexFormat.of().formatHex(b.array());
    }

    record Result(int exitCode, String output) {
    }

    private static Result run(Path dir, String script, String... args) throws IOException, InterruptedException {
        Path file = dir.resolve("check.py");
        Files.writeString(file, script);
        List<String> command = new java.util.ArrayList<>(List.of(PYTHON.toString(), file.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
