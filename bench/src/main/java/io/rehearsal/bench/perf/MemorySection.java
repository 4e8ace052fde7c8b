package io.rehearsal.bench.perf;

import io.rehearsal.bench.perf.PerfTable.Better;
import io.rehearsal.bench.perf.PerfTable.Row;
import io.rehearsal.models.train.MklShim;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trainer memory over a long run: {@code MemoryFootprint} in a child JVM (the full view-batch step, 16
 * items x 4 views, an evaluation every 100 steps), its RSS curve, the growth per step over the second
 * half, and the RSS that growth gives at 1M steps.
 */
final class MemorySection {
    private static final Pattern ROW = Pattern.compile("^\\s*(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+(\\S+)\\s+([\\d.]+)\\s*$");
    private static final Pattern GROWTH = Pattern.compile("RSS growth over steps (\\d+)\\.\\.(\\d+): ([-+\\d.]+) KB/step");

    private MemorySection() {
    }

    /** Below this the RSS is still climbing towards its plateau, and a slope says nothing about 1M steps. */
    static final int MIN_STEPS_TO_EXTRAPOLATE = 20_000;

    static void run(int steps, PerfTable table, PrintStream out, Path work) throws IOException, InterruptedException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-XX:NativeMemoryTracking=summary", "-Dai.djl.offline=true",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro", "-cp", System.getProperty("java.class.path"),
                "io.rehearsal.bench.trainer.MemoryFootprint", Integer.toString(steps), "1");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        MklShim.preloaded().ifPresent(s -> pb.environment().put("LD_PRELOAD", s.toString()));
        pb.environment().putAll(NativeEnv.MALLOC);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("MemoryFootprint failed: " + output);
        }
        Files.writeString(work.resolve("memory-footprint.log"), output, StandardCharsets.UTF_8);
        List<double[]> curve = new ArrayList<>();
        double growth = Double.NaN;
        for (String line : output.split("\n")) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                curve.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(4))});
            }
            Matcher g = GROWTH.matcher(line);
            if (g.find()) {
                growth = Double.parseDouble(g.group(3));
            }
        }
        if (curve.isEmpty()) {
            throw new IOException("cannot read MemoryFootprint's output: " + output);
        }
        StringBuilder points = new StringBuilder();
        int stride = Math.max(1, curve.size() / 8);
        for (int i = 0; i < curve.size(); i += stride) {
            points.append(String.format(Locale.ROOT, "%s%.0fk: %.0f MB", points.length() == 0 ? "" : ", ", curve.get(i)[0] / 1000,
                    curve.get(i)[1]));
        }
        double[] last = curve.get(curve.size() - 1);
        double at1m = last[1] + growth * (1_000_000 - last[0]) / 1024.0;
        out.printf(Locale.ROOT, "  trainer RSS over %,d steps: %s; growth %+.2f KB/step over the second half%s%n",
                steps, points, growth, steps >= MIN_STEPS_TO_EXTRAPOLATE ? String.format(Locale.ROOT, " -> %.0f MB at 1M steps", at1m) : "");
        table.add(new Row("memory", String.format(Locale.ROOT, "trainer RSS after %,d steps", (long) last[0]), "MB", last[1],
                Double.NaN, "-", Better.NONE, "RSS by 1k steps: " + points));
        table.add(new Row("memory", "trainer RSS growth, second half of the run", "KB/step", growth, Double.NaN, "-", Better.NONE,
                steps >= MIN_STEPS_TO_EXTRAPOLATE
                        ? String.format(Locale.ROOT, "extrapolated RSS at 1M steps: %.0f MB (glibc's allocator wobbles by a few MB)", at1m)
                        : String.format(Locale.ROOT, "no extrapolation: %,d steps is still the allocator's warm-up (RSS settles after ~10k steps here)", steps)));
    }
}
