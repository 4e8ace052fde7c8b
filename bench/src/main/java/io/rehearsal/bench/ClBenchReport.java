package io.rehearsal.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.bench.experiment.ExperimentSpec;
import io.rehearsal.cli.report.LearningCurves;
import io.rehearsal.cli.report.LearningCurves.Point;
import io.rehearsal.schemas.JsonCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The benchmark's outputs: mean ± std per (configuration, buffer) as markdown, CSV per run, JSON, plots. */
final class ClBenchReport {
    /** One run. */
    record Row(ClConfig config, int buffer, long seed, ExperimentSpec spec, ExperimentResult result) {
    }

    private final ClConfig.Budget budget;
    private final String source;
    private final boolean throughKafka;
    private final List<Row> rows;

    ClBenchReport(ClConfig.Budget budget, String source, boolean throughKafka, List<Row> rows) {
        this.budget = budget;
        this.source = source;
        this.throughKafka = throughKafka;
        this.rows = List.copyOf(rows);
    }

    /** Mean ± sample std per (configuration, buffer), in run order. */
    String markdownTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| configuration | M | R | K_short | g | λ | seeds | final accuracy % | forgetting % | prequential % | steps | views |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, List<Row>> e : groups().entrySet()) {
            List<Row> g = e.getValue();
            Row first = g.get(0);
            ClConfig c = first.config();
            sb.append(String.format("| %s | %s | %d | %d | %.0f | %.1f | %d | %s | %s | %s | %d | %d |%n",
                    c.name(), c.joint() ? "—" : Integer.toString(first.buffer()), c.views(),
                    first.spec().curator().memory().shortTermRecalls(), c.growth(), c.lambda(), g.size(),
                    meanStd(g, r -> 100 * r.finalAccuracy()), c.joint() ? "—" : meanStd(g, r -> 100 * r.forgetting()),
                    meanStd(g, r -> 100 * r.prequential()), first.result().steps(), first.result().views()));
        }
        return sb.toString();
    }

    void write(Path dir) throws IOException {
        Files.writeString(dir.resolve("bench-cl.md"), markdown());
        Files.writeString(dir.resolve("bench-cl.csv"), csv());
        Files.writeString(dir.resolve("bench-cl.json"), JsonCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(json()));
        plots(dir);
    }

    private String markdown() {
        StringBuilder sb = new StringBuilder("# rehearsal bench cl — Split Fashion-MNIST, class-incremental\n\n");
        sb.append(String.format("Data: %s. %s on %s. Same compute for every configuration: B = %d sample views per step, "
                        + "F = %d fresh samples per step, V = %d views per fresh sample while short-term (K_short = V/R − 1); "
                        + "model %s %s, SGD lr %.3g.%n%n", source, LocalDate.now(), System.getProperty("os.arch"),
                budget.batchSize(), budget.freshPerBatch(), budget.viewsPerFreshSample(), budget.arch(),
                budget.arch().equals("mlp") ? budget.hidden() : "", budget.learningRate()));
        sb.append(throughKafka
                ? "Mode: **through Kafka** (embedded broker, CuratorApp and TrainerApp; each task boundary evaluates the snapshot "
                        + "that covers everything streamed).\n\n"
                : "Mode: in process (the production CuratorTopology through InProcessCurator, and ContinualTrainer).\n\n");
        sb.append(budget.validationPerTask() > 0
                ? String.format("**Validation protocol**: each task's held-out images are %d of its training images, removed from "
                        + "the stream; the test set was not used.%n%n", budget.validationPerTask())
                : "Held-out images: the Fashion-MNIST test set (10% of each task's streamed as EVAL samples, the rest for the "
                        + "accuracy matrix).\n\n");
        sb.append("Mean ± std over seeds. Final accuracy: mean over the 5 tasks' held-out test images after the last task; "
                + "forgetting: Chaudhry et al.; prequential: fresh samples predicted before training.\n\n");
        sb.append(markdownTable()).append('\n');
        for (Map.Entry<String, List<Row>> e : groups().entrySet()) {
            Row first = e.getValue().get(0);
            sb.append("### ").append(e.getKey()).append(" (seed ").append(first.seed()).append(")\n\n");
            sb.append(first.result().matrix().toMarkdown(new String[] {"t0", "t1", "t2", "t3", "t4"})).append('\n');
        }
        return sb.toString();
    }

    private String csv() {
        StringBuilder sb = new StringBuilder("configuration,buffer,views,k_short,growth,lambda,seed,final_accuracy,forgetting,"
                + "prequential,eval_set_accuracy,steps,views_trained,seconds\n");
        for (Row r : rows) {
            ExperimentResult x = r.result();
            sb.append(String.format("%s,%d,%d,%d,%.2f,%.2f,%d,%.4f,%.4f,%.4f,%.4f,%d,%d,%.1f%n", r.config().name(), r.buffer(),
                    r.config().views(), r.spec().curator().memory().shortTermRecalls(), r.config().growth(), r.config().lambda(),
                    r.seed(), x.finalAccuracy(), x.forgetting(), x.prequential(), x.evalSetAccuracy(), x.steps(), x.views(),
                    x.seconds()));
        }
        return sb.toString();
    }

    private ObjectNode json() {
        ObjectNode root = JsonCodec.mapper().createObjectNode();
        root.put("data", source);
        root.put("date", LocalDate.now().toString());
        root.put("throughKafka", throughKafka);
        root.putPOJO("budget", Map.of("batchSize", budget.batchSize(), "freshPerBatch", budget.freshPerBatch(),
                "viewsPerFreshSample", budget.viewsPerFreshSample(), "arch", budget.arch(), "hidden", budget.hidden(),
                "learningRate", budget.learningRate(), "validationPerTask", budget.validationPerTask()));
        ArrayNode runs = root.putArray("runs");
        for (Row r : rows) {
            ObjectNode o = runs.addObject();
            o.put("configuration", r.config().name());
            o.put("buffer", r.buffer());
            o.put("seed", r.seed());
            o.put("finalAccuracy", r.result().finalAccuracy());
            o.put("forgetting", r.result().forgetting());
            o.put("prequential", r.result().prequential());
            o.put("steps", r.result().steps());
            o.put("views", r.result().views());
            o.putPOJO("curator", r.spec().curator().describe());
            o.putPOJO("trainer", r.spec().trainer().toProvenance());
            ArrayNode m = o.putArray("accuracyMatrix");
            for (double[] row : r.result().matrix().values()) {
                ArrayNode a = m.addArray();
                for (double v : row) {
                    a.add(v);
                }
            }
        }
        return root;
    }

    private void plots(Path dir) throws IOException {
        // average accuracy over all tasks' test images along training, first seed of each configuration
        for (int buffer : rows.stream().map(Row::buffer).filter(b -> b > 0).distinct().toList()) {
            Map<String, List<Point>> curves = new LinkedHashMap<>();
            Map<Double, String> boundaries = Map.of();
            for (List<Row> g : groups().values()) {
                Row first = g.get(0);
                if (first.buffer() != buffer && !first.config().joint()) {
                    continue;
                }
                curves.put(first.config().name(), meanCurve(first.result().curves(),
                        first.config().joint() ? Map.of() : first.result().boundaries()));
                if (!first.config().joint()) {
                    boundaries = first.result().boundaries();
                }
            }
            LearningCurves.write(dir.resolve("bench-cl-M" + buffer + ".png"),
                    "Split Fashion-MNIST, buffer M = " + buffer + ": mean accuracy over the tasks seen so far (seed "
                            + rows.get(0).seed() + ")",
                    "accuracy", curves, boundaries, 1000, 600);
        }
        // per-task curves of each configuration's first run
        for (List<Row> g : groups().values()) {
            Row first = g.get(0);
            String file = "curves-" + first.config().name().replace('+', '_') + (first.config().joint() ? "" : "-M" + first.buffer()) + ".png";
            LearningCurves.write(dir.resolve(file), first.spec().name() + ": accuracy per task (seed " + first.seed() + ")",
                    "accuracy", first.result().curves(), first.result().boundaries(), 1000, 600);
        }
    }

    /** Mean over the tasks seen so far (all tasks when there are no boundaries, as in the joint run). */
    private static List<Point> meanCurve(Map<String, List<Point>> perTask, Map<Double, String> boundaries) {
        List<List<Point>> curves = new ArrayList<>(perTask.values());
        List<Point> out = new ArrayList<>();
        for (int i = 0; i < curves.get(0).size(); i++) {
            double step = curves.get(0).get(i).step();
            int seen = boundaries.isEmpty() ? curves.size()
                    : 1 + (int) boundaries.keySet().stream().filter(b -> b < step).count();
            double sum = 0;
            for (int t = 0; t < seen; t++) {
                sum += curves.get(t).get(i).value();
            }
            out.add(new Point(step, sum / seen));
        }
        return out;
    }

    private Map<String, List<Row>> groups() {
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        for (Row r : rows) {
            groups.computeIfAbsent(r.spec().name(), k -> new ArrayList<>()).add(r);
        }
        return groups;
    }

    private static String meanStd(List<Row> rows, java.util.function.ToDoubleFunction<ExperimentResult> f) {
        double[] v = rows.stream().mapToDouble(r -> f.applyAsDouble(r.result())).toArray();
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN);
        if (v.length < 2) {
            return String.format("%.1f", mean);
        }
        double var = java.util.Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / (v.length - 1);
        return String.format("%.1f ± %.1f", mean, Math.sqrt(var));
    }
}
