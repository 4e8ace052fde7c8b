package io.rehearsal.bench.perf;

import io.rehearsal.bench.perf.PerfTable.Better;
import io.rehearsal.bench.perf.PerfTable.Row;
import io.rehearsal.bench.trainer.TrainerBench;
import io.rehearsal.models.runtime.MklShim;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Trainer samples/s against plain PyTorch eager: {@code TrainerBench} in a child JVM (with the MKL shim
 * when there is one) and {@code ops/bench/pytorch_trainer.py} under {@code /usr/bin/python3}, both
 * serving commands, interleaved case by case and round by round so both see the same machine load.
 */
final class TrainerSection {
    /**
     * What to run. {@code openblas}: a directory with OpenBLAS's libblas.so.3 for the peer, or null. {@code torchscript}:
     * a module exported by {@code examples/models/export.py resnet} to time as the model {@code resnet} (at the cnn's
     * batches) against its eager twin, or null.
     */
    record Config(List<String> models, List<Integer> batches, List<Integer> cnnBatches, List<Integer> views, int steps,
                  int rounds, int threads, Path python, Path openblas, Path torchscript) {
    }

    private record Case(String model, int batch, int views, int steps) {
        String command() {
            return "run " + model + " " + batch + " " + views + " " + steps;
        }

        String label() {
            return model.equals("tiny") ? "fixed cost of a step (784-8-10, B=8, R=1)"
                    : (model.equals("resnet") ? "resnet (TorchScript)" : model) + " B=" + batch + " R=" + views;
        }
    }

    private TrainerSection() {
    }

    static void run(Config config, PerfTable table, PrintStream out, Path work) throws IOException, InterruptedException {
        Path log = work.resolve("trainer-children.log");
        Optional<Path> shim = MklShim.preloaded();
        String shimNote;
        if (shim.isEmpty() && MklShim.amdCpu()) {
            shim = MklShim.build(work.resolve("native"));
            shimNote = shim.isPresent() ? "MKL shim built for this run (AMD CPU)" : "AMD CPU, no C compiler: MKL generic kernels";
        } else {
            shimNote = shim.isPresent() ? "MKL shim preloaded" : "Intel or unknown CPU: no MKL shim needed";
        }
        List<Case> cases = new ArrayList<>();
        List<String> models = new ArrayList<>(config.models());
        if (config.torchscript() != null) {
            models.add("resnet");
        }
        for (String model : models) {
            boolean conv = model.equals("cnn") || model.equals("resnet");
            for (int batch : conv ? config.cnnBatches() : config.batches()) {
                for (int views : config.views()) {
                    cases.add(new Case(model, batch, views, conv ? Math.max(5, config.steps() / 4) : config.steps()));
                }
            }
        }
        cases.add(new Case("tiny", 8, 1, config.steps() * 5));
        Case noShimCase = new Case("mlp", config.batches().get(config.batches().size() - 1), 1, config.steps());

        String pythonSkip = pythonSkipReason(config.python());
        Path script = script();
        if (pythonSkip == null && script == null) {
            pythonSkip = "ops/bench/pytorch_trainer.py not found (run from the repository)";
        }
        Map<String, String> djlEnv = new HashMap<>(NativeEnv.MALLOC);
        shim.ifPresent(s -> djlEnv.put("LD_PRELOAD", s.toString()));
        try (ServeProcess djl = new ServeProcess("TrainerBench", javaCommand(config), djlEnv, List.of(), log);
             ServeProcess djlNoShim = shim.isPresent() && MklShim.amdCpu()
                     ? new ServeProcess("TrainerBench-noshim", javaCommand(config), NativeEnv.MALLOC, List.of("LD_PRELOAD"), log) : null;
             ServeProcess torch = pythonSkip == null ? new ServeProcess("pytorch_trainer.py", List.of(config.python().toString(),
                     script.toString(), "--serve", "--threads", Integer.toString(config.threads())), pythonEnv(config),
                     List.of("LD_PRELOAD"), log) : null) {
            String djlInfo = djl.ask("info", 300).substring(5);
            String peerInfo = torch == null ? "skipped: " + pythonSkip : torch.ask("info", 120).substring(5);
            String peerName = torch == null ? "-" : peerName(peerInfo);
            out.println("  rehearsal: " + djlInfo + "; " + shimNote);
            out.println("  both with " + NativeEnv.describe());
            out.println("  peer:      " + peerInfo);
            if (torch != null && peerInfo.contains("reference BLAS")) {
                out.println("  note: the peer runs on netlib's reference BLAS, not a fair peer; give --openblas DIR "
                        + "(an unpacked libopenblas0-pthread) for one");
            }
            // warm both up alike (the JVM compiles DJL's Java side over the first 1,000-2,000 steps)
            for (Case warm : List.of(new Case("mlp", 64, 4, config.steps() * 8), new Case("tiny", 8, 1, config.steps() * 10))) {
                djl.ask(warm.command(), 900);
                if (djlNoShim != null) {
                    djlNoShim.ask(warm.command(), 900);
                }
                if (torch != null) {
                    torch.ask(warm.command(), 900);
                }
            }
            Map<Case, List<double[]>> ours = new LinkedHashMap<>();
            Map<Case, List<double[]>> theirs = new LinkedHashMap<>();
            List<double[]> noShim = new ArrayList<>();
            for (int round = 0; round < config.rounds(); round++) {
                for (Case c : cases) {
                    ours.computeIfAbsent(c, k -> new ArrayList<>()).add(ServeProcess.timing(djl.ask(c.command(), 900)));
                    if (torch != null) {
                        theirs.computeIfAbsent(c, k -> new ArrayList<>()).add(ServeProcess.timing(torch.ask(c.command(), 900)));
                    }
                }
                if (djlNoShim != null) {
                    noShim.add(ServeProcess.timing(djlNoShim.ask(noShimCase.command(), 900)));
                }
                out.printf(Locale.ROOT, "  trainer round %d of %d done%n", round + 1, config.rounds());
            }
            String rounds = config.rounds() + " interleaved round(s)";
            for (Case c : cases) {
                double[] us = median(ours.get(c));
                double[] them = torch == null ? new double[] {Double.NaN, Double.NaN, Double.NaN} : median(theirs.get(c));
                if (c.model().equals("tiny")) {
                    table.add(new Row("trainer", c.label(), "ms", us[1], them[1], peerName, Better.LOWER, String.format(Locale.ROOT,
                            "p50 step time; kernels cost next to nothing here: JNI/dispatch and bookkeeping; median of %s x %d steps",
                            rounds, c.steps())));
                } else {
                    table.add(new Row("trainer", c.label() + " samples/s", "samples/s", us[0], them[0], peerName, Better.HIGHER,
                            String.format(Locale.ROOT, "full view-batch step; p50 step %.2f vs %.2f ms; median of %s x %d steps",
                                    us[1], them[1], rounds, c.steps())));
                }
            }
            if (!noShim.isEmpty()) {
                double[] us = median(noShim);
                double[] them = torch == null ? new double[] {Double.NaN} : median(theirs.get(matching(cases, noShimCase)));
                table.add(new Row("trainer", noShimCase.label() + " without the MKL shim", "samples/s", us[0], them[0], peerName,
                        Better.HIGHER, "libtorch's MKL on its generic AMD kernels, as DJL runs by default"));
            }
        }
    }

    private static Case matching(List<Case> cases, Case c) {
        return cases.stream().filter(x -> x.model().equals(c.model()) && x.batch() == c.batch() && x.views() == c.views())
                .findFirst().orElse(c);
    }

    /** Element-wise median over rounds. */
    static double[] median(List<double[]> runs) {
        if (runs == null || runs.isEmpty()) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
        double[] out = new double[runs.get(0).length];
        for (int i = 0; i < out.length; i++) {
            final int k = i;
            double[] v = runs.stream().mapToDouble(r -> r[k]).sorted().toArray();
            out[i] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return out;
    }

    private static String peerName(String info) {
        // "PyTorch 1.13.0a0 eager, Python 3.11, OpenBLAS, 1 intra-op thread(s)"
        String[] parts = info.split(", ");
        return parts.length >= 3 ? parts[0] + " (" + parts[2] + ")" : info;
    }

    private static List<String> javaCommand(Config config) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro"));
        if (config.torchscript() != null) {
            cmd.add("-D" + TrainerBench.TORCHSCRIPT_PROPERTY + "=" + config.torchscript().toAbsolutePath());
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.rehearsal.bench.trainer.TrainerBench", "--serve",
                Integer.toString(config.threads())));
        return cmd;
    }

    private static Map<String, String> pythonEnv(Config config) {
        Map<String, String> env = new HashMap<>(NativeEnv.MALLOC);
        env.put("OPENBLAS_NUM_THREADS", Integer.toString(config.threads()));
        env.put("OMP_NUM_THREADS", Integer.toString(config.threads()));
        if (config.openblas() != null) {
            String old = System.getenv("LD_LIBRARY_PATH");
            env.put("LD_LIBRARY_PATH", config.openblas() + (old == null ? "" : ":" + old));
        }
        return env;
    }

    /** Null if {@code python} can import torch, else why the peer is skipped. */
    static String pythonSkipReason(Path python) {
        if (python == null || !Files.isExecutable(python)) {
            return "no " + python + " (apt-get install python3-torch)";
        }
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return python + " cannot import torch (apt-get install python3-torch)";
            }
            return null;
        } catch (IOException e) {
            return "cannot run " + python + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** ops/bench/pytorch_trainer.py in the working directory or the repository the running code came from. */
    static Path script() {
        return RepoFiles.find("ops/bench/pytorch_trainer.py");
    }

}
