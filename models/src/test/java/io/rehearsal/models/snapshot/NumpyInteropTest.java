package io.rehearsal.models.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The blob format's promise: numpy reads it. Runs Debian's /usr/bin/python3 with python3-numpy. */
@RequiresTool(Tool.PYTHON_NUMPY)
class NumpyInteropTest {

    @Test
    void shouldBeReadableByNumpyLoad(@TempDir Path dir) throws Exception {
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

    @Test
    void shouldGiveTheSamePredictionsInNumpyAsInTheTrainer(@TempDir Path dir) throws Exception {
        // Given a trained MLP and its snapshot blob
        io.rehearsal.models.train.SyntheticStream stream = new io.rehearsal.models.train.SyntheticStream("np", 784, 10, 9);
        List<float[]> probe = new java.util.ArrayList<>();
        float[][] expected;
        try (io.rehearsal.models.train.ContinualTrainer t = new io.rehearsal.models.train.ContinualTrainer(
                io.rehearsal.models.train.TrainerSettings.builder("np",
                        io.rehearsal.models.net.ModelSpec.mlp(784, 10, 64, 32)).build())) {
            for (int i = 0; i < 20; i++) {
                t.train(stream.trainBatch(16, 2));
            }
            for (int i = 0; i < 8; i++) {
                probe.add(stream.sample(i));
            }
            expected = t.probabilities(probe);
            Files.write(dir.resolve("params.npz"), SnapshotCodec.encodeParameters(t.parameters()));
        }
        StringBuilder rows = new StringBuilder();
        for (float[] x : probe) {
            rows.append(x[0]);
            for (int i = 1; i < x.length; i++) {
                rows.append(' ').append(x[i]);
            }
            rows.append('\n');
        }
        Files.writeString(dir.resolve("x.txt"), rows);
        // When the forward pass documented in docs/trainer.md runs in numpy
        Result r = run(dir, "import numpy as np, sys\n"
                + "w = np.load(sys.argv[1])\n"
                + "x = np.loadtxt(sys.argv[2], dtype=np.float32, ndmin=2)\n"
                + MLP_FORWARD
                + "p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)\n"
                + "for row in p: print(' '.join('%.7f' % v for v in row))\n",
                dir.resolve("params.npz").toString(), dir.resolve("x.txt").toString());
        // Then its class probabilities match the trainer's
        assertThat(r.exitCode).as(r.output).isZero();
        List<String> lines = r.output.lines().toList();
        assertThat(lines).hasSize(probe.size());
        for (int i = 0; i < probe.size(); i++) {
            String[] values = lines.get(i).trim().split(" ");
            for (int k = 0; k < 10; k++) {
                assertThat(Double.parseDouble(values[k])).isCloseTo(expected[i][k], org.assertj.core.api.Assertions.within(1e-4));
            }
        }
    }

    /** The MLP forward pass from docs/trainer.md (hidden layers 02/03, 05/06, head 08). */
    static final String MLP_FORWARD = ""
            + "def layer_norm(h, gamma, beta, eps=1e-5):\n"
            + "    mu = h.mean(1, keepdims=True); var = h.var(1, keepdims=True)\n"
            + "    return (h - mu) / np.sqrt(var + eps) * gamma + beta\n"
            + "h = x\n"
            + "for lin, ln in ((\"02Linear\", \"03LayerNorm\"), (\"05Linear\", \"06LayerNorm\")):\n"
            + "    h = h @ w[lin + \"_weight\"].T + w[lin + \"_bias\"]\n"
            + "    h = np.maximum(layer_norm(h, w[ln + \"_gamma\"], w[ln + \"_beta\"]), 0)\n"
            + "logits = h @ w[\"08Linear_weight\"].T + w[\"08Linear_bias\"]\n";

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
        List<String> command = new java.util.ArrayList<>(List.of(Tool.python(), file.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
