package io.rehearsal.cli.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The learning report of a deployed model, from its snapshots' metrics alone: the accuracy on each task (tag) of the
 * held-out samples over training steps, the accuracy matrix by tag, and freshness and throughput.
 *
 * <p>Phases: each snapshot says which tags its fresh items belonged to; consecutive snapshots that learned mostly the
 * same tag form that tag's phase. The matrix has a row per phase, the evaluation carried by the phase's last
 * snapshot (the latest held-out round before the next tag came), and a column per tag evaluated, in the order the
 * tags were first learned. Final accuracy is the mean of the last row; forgetting, per tag learned before the last
 * phase, its best accuracy after its phase minus its last, averaged (Chaudhry et al.).
 */
public final class LearningReport {
    private final String modelId;
    private final List<SnapshotPoint> points;
    private final String window;

    /**
     * @param points the snapshots in the window, oldest first (at least one)
     * @param window how the window was chosen, for the report's header
     */
    public LearningReport(String modelId, List<SnapshotPoint> points, String window) {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("a learning report needs at least one snapshot");
        }
        this.modelId = modelId;
        this.points = List.copyOf(points);
        this.window = window;
    }

    /** One phase: a tag learned by consecutive snapshots, and the last of them. */
    public record Phase(String tag, SnapshotPoint first, SnapshotPoint last) {
    }

    public List<Phase> phases() {
        List<Phase> phases = new ArrayList<>();
        for (SnapshotPoint p : points) {
            String tag = p.learning();
            if (tag == null) {
                if (!phases.isEmpty()) { // replay only: still the same phase, and its latest evaluation
                    Phase last = phases.get(phases.size() - 1);
                    phases.set(phases.size() - 1, new Phase(last.tag(), last.first(), p));
                }
                continue;
            }
            Phase last = phases.isEmpty() ? null : phases.get(phases.size() - 1);
            if (last != null && last.tag().equals(tag)) {
                phases.set(phases.size() - 1, new Phase(tag, last.first(), p));
            } else {
                phases.add(new Phase(tag, p, p));
            }
        }
        return phases;
    }

    /** Tags in the order they were first learned, then the other tags evaluated, by name. */
    public List<String> tags() {
        Set<String> tags = new LinkedHashSet<>();
        phases().forEach(ph -> tags.add(ph.tag()));
        Set<String> evaluated = new java.util.TreeSet<>();
        points.forEach(p -> evaluated.addAll(p.evalByTask().keySet()));
        tags.addAll(evaluated);
        return List.copyOf(tags);
    }

    /** Rows: the phases' last evaluations (or, when no snapshot says what it learned, the latest snapshot alone). */
    public List<SnapshotPoint> rows() {
        List<Phase> phases = phases();
        return phases.isEmpty() ? List.of(points.get(points.size() - 1)) : phases.stream().map(Phase::last).toList();
    }

    /** Mean accuracy over the tags of the last row. */
    public double finalAccuracy() {
        return rows().get(rows().size() - 1).evalByTask().values().stream().mapToDouble(Double::doubleValue).average()
                .orElse(Double.NaN);
    }

    /** Average forgetting over the tags learned before the last phase, or NaN with fewer than two phases. */
    public double forgetting() {
        List<Phase> phases = phases();
        if (phases.size() < 2) {
            return Double.NaN;
        }
        Map<String, Double> last = phases.get(phases.size() - 1).last().evalByTask();
        double sum = 0;
        int n = 0;
        Set<String> done = new LinkedHashSet<>();
        for (int i = 0; i < phases.size() - 1; i++) {
            String tag = phases.get(i).tag();
            if (!done.add(tag) || !last.containsKey(tag) || tag.equals(phases.get(phases.size() - 1).tag())) {
                continue;
            }
            double best = Double.NEGATIVE_INFINITY;
            for (int k = i; k < phases.size() - 1; k++) {
                Double a = phases.get(k).last().evalByTask().get(tag);
                if (a != null) {
                    best = Math.max(best, a);
                }
            }
            if (best > Double.NEGATIVE_INFINITY) {
                sum += best - last.get(tag);
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Per tag, its held-out accuracy at each evaluation step (one point per distinct evaluation). */
    public Map<String, List<LearningCurves.Point>> curves() {
        Map<String, List<LearningCurves.Point>> curves = new LinkedHashMap<>();
        for (String tag : tags()) {
            curves.put(tag, new ArrayList<>());
        }
        long lastStep = Long.MIN_VALUE;
        for (SnapshotPoint p : points) {
            if (p.evalByTask().isEmpty() || p.evalStep() == lastStep) {
                continue;
            }
            lastStep = p.evalStep();
            p.evalByTask().forEach((tag, acc) -> curves.get(tag).add(new LearningCurves.Point(p.evalStep(), acc)));
        }
        return curves;
    }

    /** Where each phase began (its first snapshot's step), for the plot's markers. */
    public Map<Double, String> boundaries() {
        Map<Double, String> b = new LinkedHashMap<>();
        List<Phase> phases = phases();
        for (int i = 1; i < phases.size(); i++) {
            b.put((double) phases.get(i).first().step(), phases.get(i).tag());
        }
        return b;
    }

    /** Freshness of the snapshots that say (schema version 3 on): publication minus the newest event time learned. */
    public List<Duration> freshness() {
        return points.stream().map(SnapshotPoint::freshness).filter(java.util.Objects::nonNull).sorted().toList();
    }

    /** Throughput and freshness figures over the window, by name (NaN where the window cannot tell). */
    public Map<String, Double> summary() {
        SnapshotPoint first = points.get(0);
        SnapshotPoint last = points.get(points.size() - 1);
        double seconds = Duration.between(first.created(), last.created()).toMillis() / 1000.0;
        long fresh = points.stream().skip(1).flatMap(p -> p.freshByTask().values().stream()).mapToLong(Long::longValue).sum();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("snapshots", (double) points.size());
        m.put("seconds", seconds);
        m.put("steps", (double) (last.step() - first.step()));
        m.put("stepsPerSecond", seconds > 0 ? (last.step() - first.step()) / seconds : Double.NaN);
        m.put("sampleViewsPerSecond", seconds > 0 ? (last.samplesSeen() - first.samplesSeen()) / seconds : Double.NaN);
        m.put("freshSamplesPerSecond", seconds > 0 && fresh > 0 ? fresh / seconds : Double.NaN);
        m.put("secondsBetweenSnapshots", points.size() > 1 ? seconds / (points.size() - 1) : Double.NaN);
        List<Duration> f = freshness();
        m.put("freshnessP50Seconds", percentile(f, 0.50));
        m.put("freshnessP90Seconds", percentile(f, 0.90));
        m.put("freshnessMaxSeconds", f.isEmpty() ? Double.NaN : f.get(f.size() - 1).toMillis() / 1000.0);
        m.put("finalAccuracy", finalAccuracy());
        m.put("forgetting", forgetting());
        return m;
    }

    private static double percentile(List<Duration> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(q * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))).toMillis() / 1000.0;
    }

    public String markdown() {
        SnapshotPoint first = points.get(0);
        SnapshotPoint last = points.get(points.size() - 1);
        Map<String, Double> s = summary();
        StringBuilder sb = new StringBuilder("# Learning report: model ").append(modelId).append("\n\n");
        sb.append(String.format("Snapshots v%d (step %d, %s) to v%d (step %d, %s): %d in %s.%n%n", first.version(), first.step(),
                first.created(), last.version(), last.step(), last.created(), points.size(), window));
        sb.append("| figure | value |\n|---|---:|\n");
        sb.append(String.format("| final accuracy (held-out samples of every tag, latest evaluation) | %s |%n", pct(s.get("finalAccuracy"))));
        sb.append(String.format("| average forgetting | %s |%n", Double.isNaN(s.get("forgetting")) ? "— (one phase)"
                : String.format("%.1f points", 100 * s.get("forgetting"))));
        sb.append(String.format("| training steps / per second | %,.0f / %.1f |%n", s.get("steps"), s.get("stepsPerSecond")));
        sb.append(String.format("| sample views trained per second | %s |%n", num(s.get("sampleViewsPerSecond"))));
        sb.append(String.format("| fresh samples learned per second | %s |%n", num(s.get("freshSamplesPerSecond"))));
        sb.append(String.format("| seconds between snapshots (mean) | %s |%n", num(s.get("secondsBetweenSnapshots"))));
        sb.append(String.format("| freshness p50 / p90 / max (publication − event time of the newest sample learned) | %s / %s / %s s |%n",
                num(s.get("freshnessP50Seconds")), num(s.get("freshnessP90Seconds")), num(s.get("freshnessMaxSeconds"))));
        sb.append("\n## Accuracy matrix by tag (held-out accuracy %, after learning each tag)\n\n");
        sb.append(matrixMarkdown());
        sb.append("\nRows: the tags in the order the model learned them; each row is the latest held-out evaluation carried by the "
                + "last snapshot of that tag's phase (version and step in the row).\n");
        if (phases().isEmpty()) {
            sb.append("\nNo snapshot in the window says which tags it learned (snapshots before schema version 3 do not): the "
                    + "matrix has the latest snapshot's evaluation only.\n");
        }
        if (freshness().isEmpty()) {
            sb.append("\nNo snapshot in the window carries the event time of what it learned (schema version 3 on): no freshness.\n");
        }
        sb.append("\n![held-out accuracy per tag over training steps](report.png)\n");
        return sb.toString();
    }

    /** Rows of phases, columns of tags, percentages; "—" where the tag had no held-out evaluation yet. */
    public String matrixMarkdown() {
        List<String> tags = tags();
        StringBuilder sb = new StringBuilder("| after | version | step |");
        tags.forEach(t -> sb.append(' ').append(t).append(" |"));
        sb.append(" mean |\n|---|---:|---:|").append("---:|".repeat(tags.size() + 1)).append('\n');
        List<Phase> phases = phases();
        List<SnapshotPoint> rows = rows();
        for (int i = 0; i < rows.size(); i++) {
            SnapshotPoint r = rows.get(i);
            sb.append(String.format("| %s | %d | %d |", phases.isEmpty() ? "latest" : phases.get(i).tag(), r.version(), r.evalStep()));
            for (String t : tags) {
                Double a = r.evalByTask().get(t);
                sb.append(a == null ? " — |" : String.format(" %.1f |", 100 * a));
            }
            sb.append(' ').append(pct(r.evalByTask().values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN)))
                    .append(" |\n");
        }
        return sb.toString();
    }

    public ObjectNode json(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("modelId", modelId);
        o.put("window", window);
        ObjectNode summary = o.putObject("summary");
        summary().forEach((k, v) -> {
            if (Double.isNaN(v)) {
                summary.putNull(k);
            } else {
                summary.put(k, v);
            }
        });
        o.putPOJO("tags", tags());
        ArrayNode rows = o.putArray("matrix");
        List<Phase> phases = phases();
        List<SnapshotPoint> rs = rows();
        for (int i = 0; i < rs.size(); i++) {
            ObjectNode row = rows.addObject();
            row.put("after", phases.isEmpty() ? null : phases.get(i).tag());
            row.put("version", rs.get(i).version());
            row.put("evalStep", rs.get(i).evalStep());
            row.putPOJO("accuracy", new TreeMap<>(rs.get(i).evalByTask()));
        }
        ArrayNode snaps = o.putArray("snapshots");
        for (SnapshotPoint p : points) {
            ObjectNode n = snaps.addObject();
            n.put("version", p.version());
            n.put("step", p.step());
            n.put("created", p.created().toString());
            n.put("samplesSeen", p.samplesSeen());
            n.put("evalStep", p.evalStep());
            n.putPOJO("evalAccuracyByTask", p.evalByTask());
            n.putPOJO("freshByTask", p.freshByTask());
            if (p.freshness() != null) {
                n.put("freshnessSeconds", p.freshness().toMillis() / 1000.0);
            }
        }
        return o;
    }

    /** Writes report.md, report.json and report.png to {@code dir}. */
    public void write(Path dir, ObjectMapper mapper) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("report.md"), markdown());
        Files.writeString(dir.resolve("report.json"), mapper.writerWithDefaultPrettyPrinter().writeValueAsString(json(mapper)));
        LearningCurves.write(dir.resolve("report.png"), "model " + modelId + ": held-out accuracy per tag over training steps",
                "accuracy", curves(), boundaries(), 1100, 620);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "—" : String.format("%.1f %%", 100 * v);
    }

    private static String num(Double v) {
        return v == null || Double.isNaN(v) ? "—" : String.format("%.1f", v);
    }
}
