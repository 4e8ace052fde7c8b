package io.rehearsal.bench.trainer;

import ai.djl.engine.Engine;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.runtime.TorchRuntime;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.avro.TrainBatch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Training throughput of {@link ContinualTrainer#train}, the full view-batch step (prequential
 * prediction of the fresh items, augmented views on the device, cross-entropy plus the KL term, SGD
 * with momentum), for one model, batch size B (sample views per step) and views R: B/R items, a
 * quarter of them fresh (as the curator composes batches), 28x28 uint8 features. {@code
 * ops/bench/pytorch_trainer.py} runs the same step in plain PyTorch eager.
 *
 * <p>Models: {@code mlp} (784-256-256-10, LayerNorm), {@code cnn} (32-64 conv, GroupNorm, dense 128)
 * and {@code tiny} (784-8-10 on batch 8: the kernels cost next to nothing, so its step time is the fixed
 * cost of a step: JNI calls, array bookkeeping, the optimizer loop).
 *
 * <p>Serve mode, so a parent can interleave this with the PyTorch peer on a busy machine: reads lines
 * {@code run <model> <batch> <views> <steps>} on stdin and answers each with
 * {@code result <model> <batch> <views> <samples/s> <p50 ms> <mean ms>}; the trainer of each case is
 * built (and warmed up for 20 steps) on first use and kept. {@code info} answers with the versions,
 * {@code rss} with the process's resident memory.
 *
 * <pre>java -cp ... io.rehearsal.bench.trainer.TrainerBench [--serve] [threads=1] [steps=200]</pre>
 */
public final class TrainerBench {
    static final int WARMUP = 20;
    private final int threads;
    private final Map<String, Case> cases = new HashMap<>();

    public TrainerBench(int threads) {
        this.threads = threads;
    }

    /** One timed run: samples (views) per second and step times. */
    public record Timing(String model, int batch, int views, double samplesPerSecond, double p50Millis, double meanMillis) {
        String line() {
            return String.format(Locale.ROOT, "result %s %d %d %.1f %.3f %.3f", model, batch, views, samplesPerSecond,
                    p50Millis, meanMillis);
        }
    }

    private record Case(ContinualTrainer trainer, List<TrainBatch> batches, int[] next) {
    }

    /** The system property naming the TorchScript module of the model {@code resnet} (examples/models/export.py resnet). */
    public static final String TORCHSCRIPT_PROPERTY = "rehearsal.bench.torchscript";

    /** The TorchScript module of a benchmark model: the file {@value #TORCHSCRIPT_PROPERTY} names for {@code resnet}. */
    static Optional<TorchScriptModule> module(String model) {
        if (!model.equals("resnet")) {
            return Optional.empty();
        }
        String file = System.getProperty(TORCHSCRIPT_PROPERTY);
        if (file == null) {
            throw new IllegalArgumentException("the model resnet needs -D" + TORCHSCRIPT_PROPERTY
                    + "=FILE, a module exported by examples/models/export.py resnet");
        }
        return Optional.of(TorchScriptModule.read(Path.of(file)));
    }

    /** The spec of a benchmark model. */
    public static ModelSpec spec(String model) {
        Optional<TorchScriptModule> module = module(model);
        if (module.isPresent()) {
            return module.get().spec(List.of(1, 28, 28), 10, Map.of());
        }
        return switch (model) {
            case "mlp" -> ModelSpec.mlp(784, 10, 256, 256).withOption("image", "1x28x28");
            case "cnn" -> ModelSpec.cnn(28, 10);
            case "tiny" -> ModelSpec.mlp(784, 10, 8).withOption("image", "1x28x28");
            default -> throw new IllegalArgumentException("unknown benchmark model " + model + "; use mlp, cnn or tiny");
        };
    }

    /** Times {@code steps} training steps of one case (building and warming up its trainer the first time). */
    public Timing run(String model, int batch, int views, int steps) {
        if (batch % views != 0) {
            throw new IllegalArgumentException("batch " + batch + " is not a multiple of views " + views);
        }
        Case c = cases.computeIfAbsent(model + "/" + batch + "/" + views, k -> {
            TrainerSettings settings = TrainerSettings.builder("bench", spec(model)).optThreads(threads, 1)
                    .optModule(module(model).orElse(null)).optLambda(1f, 0, 0).build();
            int groups = batch / views;
            List<TrainBatch> batches = BenchBatches.curated("bench", 16, groups, views, (groups + 3) / 4, 5);
            Case fresh = new Case(new ContinualTrainer(settings), batches, new int[1]);
            step(fresh, WARMUP);
            return fresh;
        });
        long[] nanos = step(c, steps);
        long total = Arrays.stream(nanos).sum();
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return new Timing(model, batch, views, batch * (double) steps / (total / 1e9), sorted[steps / 2] / 1e6,
                total / 1e6 / steps);
    }

    private static long[] step(Case c, int steps) {
        long[] nanos = new long[steps];
        for (int s = 0; s < steps; s++) {
            TrainBatch b = c.batches().get(c.next()[0]++ % c.batches().size());
            long t0 = System.nanoTime();
            c.trainer().train(b);
            nanos[s] = System.nanoTime() - t0;
        }
        return nanos;
    }

    /** A line describing the engine, e.g. {@code DJL 0.36.0, PyTorch 2.7.1, cpu(), 1 thread(s)}. */
    public String info() {
        Engine engine = TorchRuntime.engine(threads, 1);
        return String.format(Locale.ROOT, "info DJL %s, PyTorch %s (libtorch), %s, %d intra-op thread(s)",
                Engine.getDjlVersion(), engine.getVersion(), TorchRuntime.device(engine), threads);
    }

    public static void main(String[] args) throws IOException {
        boolean serve = args.length > 0 && args[0].equals("--serve");
        int offset = serve ? 1 : 0;
        int threads = args.length > offset ? Integer.parseInt(args[offset]) : 1;
        int steps = args.length > offset + 1 ? Integer.parseInt(args[offset + 1]) : 200;
        TrainerBench bench = new TrainerBench(threads);
        if (!serve) {
            System.out.println(bench.info());
            for (String model : List.of("mlp", "cnn")) {
                for (int batch : new int[] {64, 256}) {
                    for (int views : new int[] {1, 4}) {
                        System.out.println(bench.run(model, batch, views, steps).line());
                    }
                }
            }
            System.out.println(bench.run("tiny", 8, 1, steps * 5).line());
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] w = line.trim().split("\\s+");
            try {
                switch (w[0]) {
                    case "run" -> System.out.println(bench.run(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]),
                            Integer.parseInt(w[4])).line());
                    case "info" -> System.out.println(bench.info());
                    case "rss" -> System.out.println("result rss " + MemoryFootprint.kb("VmRSS") / 1024.0 + " MB");
                    case "quit" -> {
                        return;
                    }
                    default -> System.out.println("error unknown command " + line);
                }
            } catch (RuntimeException e) {
                System.out.println("error " + e);
            }
            System.out.flush();
        }
    }
}
