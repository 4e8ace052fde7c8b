package io.rehearsal.bench.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.bench.experiment.ExperimentResult;
import io.rehearsal.cli.report.LearningCurves;
import io.rehearsal.schemas.JsonCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/** The demo's report: markdown, JSON and the PNG of accuracy per task over training steps. */
record DemoReport(ExperimentResult result, String data, Map<String, String> settings, long trainSamples,
                  double correctionsLearned, int corrections, double uncorrectedLearned, int uncorrected,
                  long snapshots, long predictions, double ingestSamplesPerSecond) {

    /** The figures and the accuracy matrix: what the console shows at the end. */
    String summary() {
        StringBuilder sb = new StringBuilder();
        figures(sb);
        sb.append("Accuracy matrix (accuracy % on task j after training task i):\n\n");
        sb.append(result.matrix().toMarkdown(new String[] {"t0", "t1", "t2", "t3", "t4"}));
        return sb.toString();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder("# rehearsal demo — class-incremental Split Fashion-MNIST through Kafka\n\n");
        sb.append(String.format("%s. Data: %s. %d training samples in 5 tasks of 2 classes, streamed through Kafka.%n%n",
                Instant.now(), data, trainSamples));
        figures(sb);
        sb.append("## Accuracy matrix (accuracy % on task j after training task i)\n\n");
        sb.append(result.matrix().toMarkdown(new String[] {"t0", "t1", "t2", "t3", "t4"})).append('\n');
        sb.append("![accuracy per task over training steps](demo.png)\n\n## Settings\n\n");
        settings.forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
        return sb.toString();
    }

    private void figures(StringBuilder sb) {
        sb.append("| figure | value |\n|---|---:|\n");
        sb.append(String.format("| final average accuracy (all 10 classes, held-out test images) | %.1f %% |%n", 100 * result.finalAccuracy()));
        sb.append(String.format("| average forgetting | %.1f points |%n", 100 * result.forgetting()));
        sb.append(String.format("| prequential accuracy (fresh samples, predicted before training) | %.1f %% |%n", 100 * result.prequential()));
        sb.append(String.format("| streamed EVAL samples, trainer's latest evaluation | %.1f %% |%n", 100 * result.evalSetAccuracy()));
        sb.append(String.format("| corrected labels learned (flipped, then fixed by feedback) | %.1f %% of %d |%n", 100 * correctionsLearned, corrections));
        sb.append(String.format("| flipped labels never corrected, yet predicted right | %.1f %% of %d |%n", 100 * uncorrectedLearned, uncorrected));
        sb.append(String.format("| snapshots published | %d |%n", snapshots));
        sb.append(String.format("| predictions written for unlabeled requests (rehearsal.predictions) | %d |%n", predictions));
        sb.append(String.format("| training steps / sample views | %d / %d |%n", result.steps(), result.views()));
        sb.append(String.format("| wall time / samples per second end to end | %.0f s / %.0f |%n", result.seconds(), ingestSamplesPerSecond));
        sb.append(String.format("| dead letters | %d |%n%n", result.deadLetters()));
    }

    ObjectNode json() {
        ObjectNode o = JsonCodec.mapper().createObjectNode();
        o.put("finalAccuracy", result.finalAccuracy());
        o.put("forgetting", result.forgetting());
        o.put("prequentialAccuracy", result.prequential());
        o.put("evalSetAccuracy", result.evalSetAccuracy());
        o.put("correctionsLearned", correctionsLearned);
        o.put("corrections", corrections);
        o.put("uncorrectedLearned", uncorrectedLearned);
        o.put("snapshots", snapshots);
        o.put("predictions", predictions);
        o.put("steps", result.steps());
        o.put("views", result.views());
        o.put("seconds", result.seconds());
        o.put("samplesPerSecond", ingestSamplesPerSecond);
        o.put("deadLetters", result.deadLetters());
        ArrayNode m = o.putArray("accuracyMatrix");
        for (double[] row : result.matrix().values()) {
            ArrayNode a = m.addArray();
            for (double v : row) {
                a.add(v);
            }
        }
        o.putPOJO("settings", settings);
        return o;
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("demo.md"), markdown());
        Files.writeString(dir.resolve("demo.json"), JsonCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(json()));
        LearningCurves.write(dir.resolve("demo.png"), "rehearsal demo: accuracy per task (held-out test images) over training steps",
                "accuracy", result.curves(), result.boundaries(), 1100, 620);
    }
}
