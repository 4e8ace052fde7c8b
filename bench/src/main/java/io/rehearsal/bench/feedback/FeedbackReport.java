package io.rehearsal.bench.feedback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.cli.report.AccuracyMatrix;
import io.rehearsal.schemas.JsonCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The feedback benchmark's table: per condition, final accuracy and forgetting (mean ± std over seeds) and the share
 * of the noise gap the feedback recovers, (with feedback − noisy) / (clean − noisy), computed per seed against the
 * clean and noisy runs of that seed, then averaged.
 */
public final class FeedbackReport {
    /** One run. */
    public record Row(FeedbackCase condition, long seed, ExperimentResult result) {
    }

    private final String header;
    private final List<Row> rows;

    public FeedbackReport(String header, List<Row> rows) {
        this.header = header;
        this.rows = List.copyOf(rows);
    }

    /** The share of the gap one run recovers, if its seed has a clean and a noisy run and they differ. */
    public Optional<Double> gapShare(Row r) {
        if (r.condition().clean() || r.condition().kind() == null) {
            return Optional.empty();
        }
        Optional<Row> clean = find(FeedbackCase.CLEAN, r.seed());
        Optional<Row> noisy = find(FeedbackCase.noisy(r.condition().noise()), r.seed());
        if (clean.isEmpty() || noisy.isEmpty()) {
            return Optional.empty();
        }
        double gap = clean.get().result().finalAccuracy() - noisy.get().result().finalAccuracy();
        return gap == 0 ? Optional.empty()
                : Optional.of((r.result().finalAccuracy() - noisy.get().result().finalAccuracy()) / gap);
    }

    /**
     * The runs without feedback (clean, and flipped labels left as they are) of an earlier report's
     * {@code bench-feedback.json}: what a run with other feedback settings can take instead of running them again,
     * since feedback settings change nothing in them. They carry the figures the table needs (accuracy matrix,
     * final accuracy, forgetting, prequential accuracy, steps, views), not the curves.
     */
    public static List<Row> baselines(Path json) throws IOException {
        JsonNode root = JsonCodec.mapper().readTree(json.toFile());
        List<Row> rows = new ArrayList<>();
        for (JsonNode n : root.path("runs")) {
            if (!"none".equals(n.path("feedback").asText())) {
                continue;
            }
            JsonNode m = n.path("accuracyMatrix");
            AccuracyMatrix matrix = new AccuracyMatrix(m.size());
            for (int i = 0; i < m.size(); i++) {
                for (int j = 0; j <= i; j++) {
                    matrix.set(i, j, m.get(i).get(j).asDouble());
                }
            }
            double noise = n.path("noise").asDouble();
            FeedbackCase c = noise == 0 ? FeedbackCase.CLEAN : FeedbackCase.noisy(noise);
            rows.add(new Row(c, n.path("seed").asLong(), new ExperimentResult(c.label(), matrix,
                    n.path("finalAccuracy").asDouble(), n.path("forgetting").asDouble(), n.path("prequential").asDouble(),
                    Double.NaN, n.path("steps").asLong(), n.path("views").asLong(), 0, Map.of(), Map.of(), 0)));
        }
        return rows;
    }

    private Optional<Row> find(FeedbackCase c, long seed) {
        return rows.stream().filter(x -> x.condition().equals(c) && x.seed() == seed).findFirst();
    }

    public String markdownTable() {
        StringBuilder sb = new StringBuilder("| labels | feedback | delay (samples) | seeds | final accuracy % | forgetting % "
                + "| noise gap (clean − noisy), points | gap recovered % |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (List<Row> g : groups().values()) {
            FeedbackCase c = g.get(0).condition();
            List<Double> shares = g.stream().map(this::gapShare).flatMap(Optional::stream).toList();
            List<Double> gaps = new ArrayList<>();
            for (Row r : g) {
                Optional<Row> clean = find(FeedbackCase.CLEAN, r.seed());
                Optional<Row> noisy = find(FeedbackCase.noisy(c.noise()), r.seed());
                if (!c.clean() && clean.isPresent() && noisy.isPresent()) {
                    gaps.add(100 * (clean.get().result().finalAccuracy() - noisy.get().result().finalAccuracy()));
                }
            }
            sb.append(String.format("| %s | %s | %s | %d | %s | %s | %s | %s |%n",
                    c.clean() ? "clean" : String.format("%.0f%% flipped", 100 * c.noise()),
                    c.kind() == null ? (c.clean() ? "—" : "none") : c.kind().toString(),
                    c.kind() == null ? "—" : String.format("%,d", c.delay()), g.size(),
                    meanStd(g.stream().mapToDouble(r -> 100 * r.result().finalAccuracy()).toArray()),
                    meanStd(g.stream().mapToDouble(r -> 100 * r.result().forgetting()).toArray()),
                    c.clean() ? "—" : meanStd(gaps.stream().mapToDouble(Double::doubleValue).toArray()),
                    shares.isEmpty() ? "—" : meanStd(shares.stream().mapToDouble(x -> 100 * x).toArray())));
        }
        return sb.toString();
    }

    public void write(Path dir) throws IOException {
        Files.writeString(dir.resolve("bench-feedback.md"), "# rehearsal bench feedback\n\n" + header + "\n\n" + markdownTable()
                + "\nGap recovered: (final accuracy with feedback − with the same flips and no feedback) / (clean − no "
                + "feedback), per seed, then mean ± std over seeds.\n");
        Files.writeString(dir.resolve("bench-feedback.csv"), csv());
        Files.writeString(dir.resolve("bench-feedback.json"), JsonCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(json()));
    }

    private String csv() {
        StringBuilder sb = new StringBuilder("noise,feedback,delay,seed,final_accuracy,forgetting,prequential,steps,views,gap_share,seconds\n");
        for (Row r : rows) {
            FeedbackCase c = r.condition();
            sb.append(String.format("%.2f,%s,%d,%d,%.4f,%.4f,%.4f,%d,%d,%s,%.0f%n", c.noise(), c.kind() == null ? "none" : c.kind(),
                    c.delay(), r.seed(), r.result().finalAccuracy(), r.result().forgetting(), r.result().prequential(),
                    r.result().steps(), r.result().views(), gapShare(r).map(x -> String.format("%.4f", x)).orElse(""),
                    r.result().seconds()));
        }
        return sb.toString();
    }

    private ObjectNode json() {
        ObjectNode o = JsonCodec.mapper().createObjectNode();
        o.put("header", header);
        ArrayNode runs = o.putArray("runs");
        for (Row r : rows) {
            ObjectNode n = runs.addObject();
            n.put("noise", r.condition().noise());
            n.put("feedback", r.condition().kind() == null ? "none" : r.condition().kind().toString());
            n.put("delay", r.condition().delay());
            n.put("seed", r.seed());
            n.put("finalAccuracy", r.result().finalAccuracy());
            n.put("forgetting", r.result().forgetting());
            n.put("prequential", r.result().prequential());
            n.put("steps", r.result().steps());
            n.put("views", r.result().views());
            gapShare(r).ifPresent(x -> n.put("gapShare", x));
            ArrayNode m = n.putArray("accuracyMatrix");
            for (double[] row : r.result().matrix().values()) {
                ArrayNode a = m.addArray();
                Arrays.stream(row).forEach(a::add);
            }
        }
        return o;
    }

    private Map<FeedbackCase, List<Row>> groups() {
        Map<FeedbackCase, List<Row>> groups = new LinkedHashMap<>();
        rows.forEach(r -> groups.computeIfAbsent(r.condition(), k -> new ArrayList<>()).add(r));
        return groups;
    }

    static String meanStd(double[] v) {
        double mean = Arrays.stream(v).average().orElse(Double.NaN);
        if (v.length < 2) {
            return String.format("%.1f", mean);
        }
        double var = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / (v.length - 1);
        return String.format("%.1f ± %.1f", mean, Math.sqrt(var));
    }
}
