package io.rehearsal.bench.trainer;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Native memory of a long training run: trains the MLP for many steps on 16 items x 4 views of
 * 28x28 images (augmentations, KL term, prequential prediction: the full step) plus an evaluation
 * every 100 steps, and prints the process RSS (from /proc/self/status), anonymous RSS and Java heap
 * every 1,000 steps (every tenth of a shorter run), then the RSS growth per step over the second half of the run (the first half
 * includes allocator warm-up). Run with {@code -XX:NativeMemoryTracking=summary} to also print what
 * the JVM itself has committed (heap, metaspace, threads...); RSS minus that is mostly libtorch's and
 * glibc's memory, which NMT cannot see.
 *
 * <pre>java -XX:NativeMemoryTracking=summary -cp ... io.rehearsal.bench.trainer.MemoryFootprint [steps=20000] [threads=1]</pre>
 */
public final class MemoryFootprint {
    private MemoryFootprint() {
    }

    public static void main(String[] args) throws IOException {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        ModelSpec spec = ModelSpec.mlp(784, 10, 256, 256).withOption("image", "1x28x28");
        TrainerSettings settings = TrainerSettings.builder("memory", spec).optThreads(threads, 1).optLambda(1f, 10, 10).build();
        List<TrainBatch> batches = BenchBatches.images("memory", 64, 16, 4, ItemRole.FRESH, 3);
        List<TrainBatch> evals = BenchBatches.images("memory", 1, 64, 1, ItemRole.EVAL, 4);
        System.out.printf("%7s %9s %9s %9s %9s %9s%n", "step", "rss_mb", "anon_mb", "heap_mb", "jvm_mb", "steps/s");
        long half = steps / 2;
        int every = (int) Math.max(1, Math.min(1000, steps / 10)); // a row every 1,000 steps; ten rows for a short run
        long rssAtHalf = 0;
        long t0 = System.nanoTime();
        long last = t0;
        try (ContinualTrainer trainer = new ContinualTrainer(settings)) {
            for (int s = 1; s <= steps; s++) {
                trainer.train(batches.get(s % batches.size()));
                if (s % 100 == 0) {
                    trainer.evaluate(evals.get(0).getItems(), s, "eval");
                }
                if (s % every == 0 || s == half) {
                    long now = System.nanoTime();
                    long rss = kb("VmRSS");
                    if (s == half) {
                        rssAtHalf = rss;
                    }
                    if (s % every == 0) {
                        long jvm = jvmCommittedKb();
                        System.out.printf("%7d %9.1f %9.1f %9.1f %9s %9.0f%n", s, rss / 1024.0, kb("RssAnon") / 1024.0,
                                heapMb(), jvm < 0 ? "n/a" : String.format("%.1f", jvm / 1024.0), every / ((now - last) / 1e9));
                        last = now;
                    }
                }
            }
        }
        long rssEnd = kb("VmRSS");
        System.out.printf("RSS growth over steps %d..%d: %+.2f KB/step (%+.1f MB total); %.0f steps/s overall%n", half,
                steps, (rssEnd - rssAtHalf) / (double) (steps - half), (rssEnd - rssAtHalf) / 1024.0,
                steps / ((System.nanoTime() - t0) / 1e9));
    }

    /** Total committed memory the JVM reports to native memory tracking, in KB, or -1 without NMT. */
    private static long jvmCommittedKb() {
        try {
            Object out = ManagementFactory.getPlatformMBeanServer().invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB")
                    .matcher(String.valueOf(out));
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        } catch (javax.management.JMException e) {
            return -1;
        }
    }

    private static double heapMb() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
    }

    /** A field of /proc/self/status in KB (Linux), or -1. */
    static long kb(String field) {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
