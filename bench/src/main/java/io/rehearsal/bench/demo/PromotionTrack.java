package io.rehearsal.bench.demo;

import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.experiment.Progress;
import io.rehearsal.bench.experiment.TaskEvaluator;
import io.rehearsal.cli.report.LearningCurves;
import io.rehearsal.cli.report.LearningCurves.Point;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.schemas.avro.PolicyCheck;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What the demo shows of the model lifecycle: every second, the latest candidate (a subscriber of the latest
 * snapshot) and the promoted version (what the predictor serves) are evaluated on the same held-out test images
 * of the tasks streamed so far, so the plot shows the candidate falling during a poisoned burst while the promoted
 * version holds; at the end, the promoter's decisions read back from the promotions topic.
 */
final class PromotionTrack implements Progress, AutoCloseable {
    private final Progress delegate;
    private final TaskEvaluator tests;
    private final ModelSubscriber candidate;
    private final ModelSubscriber promoted;
    private final Map<Integer, String> marksAt;
    private final List<Point> candidateCurve = new CopyOnWriteArrayList<>();
    private final List<Point> promotedCurve = new CopyOnWriteArrayList<>();
    private final Map<Double, String> marks = new TreeMap<>();
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "demo-promotion-track");
        t.setDaemon(true);
        return t;
    });
    private volatile int task;
    private int events;

    /**
     * @param marksAt event index (0-based, over the whole stream) → label of a marker on the plot
     */
    PromotionTrack(Progress delegate, ClassIncrementalStream stream, int imagesPerTask, ModelSubscriber candidate,
                   ModelSubscriber promoted, Map<Integer, String> marksAt) {
        this.delegate = delegate;
        this.tests = new TaskEvaluator(stream.tests(), imagesPerTask);
        this.candidate = candidate;
        this.promoted = promoted;
        this.marksAt = Map.copyOf(marksAt);
        sampler.scheduleWithFixedDelay(this::sample, 1, 1, TimeUnit.SECONDS);
    }

    private void sample() {
        try {
            if (candidate.version() == 0) {
                return;
            }
            double step = candidate.current().orElseThrow().step();
            candidateCurve.add(new Point(step, meanSoFar(candidate)));
            if (promoted.version() > 0) {
                promotedCurve.add(new Point(step, meanSoFar(promoted)));
            }
        } catch (RuntimeException e) {
            // a swap in between, or closing: the next sample will do
        }
    }

    private double meanSoFar(ModelSubscriber model) {
        double[] acc = tests.accuracies(inputs -> model.predict(inputs).stream().mapToInt(ModelPrediction::label).toArray());
        double sum = 0;
        int n = Math.min(task + 1, acc.length);
        for (int t = 0; t < n; t++) {
            sum += acc[t];
        }
        return sum / n;
    }

    @Override
    public void taskStarted(int task, int eventCount) {
        this.task = task;
        delegate.taskStarted(task, eventCount);
    }

    @Override
    public void event(int task) {
        String mark = marksAt.get(events++);
        if (mark != null) {
            marks.put((double) candidate.current().map(i -> i.step()).orElse(0L), mark);
        }
        delegate.event(task);
    }

    @Override
    public void served(io.rehearsal.bench.experiment.Served served) {
        delegate.served(served);
    }

    @Override
    public void step(io.rehearsal.models.train.StepResult result) {
        delegate.step(result);
    }

    @Override
    public void curvePoint(long step, double[] accuracies) {
        delegate.curvePoint(step, accuracies);
    }

    @Override
    public void taskEnded(int task, double[] accuracies) {
        delegate.taskEnded(task, accuracies);
    }

    /** The plot: candidate and promoted accuracy over training steps, the burst marked. */
    void plot(Path png) throws IOException {
        Map<String, List<Point>> curves = new LinkedHashMap<>();
        curves.put("latest candidate (every snapshot)", new ArrayList<>(candidateCurve));
        curves.put("promoted (what the predictor serves)", new ArrayList<>(promotedCurve));
        LearningCurves.write(png, "rehearsal demo: candidate vs promoted accuracy (held-out test images of the tasks so far)",
                "accuracy", curves, marks, 1100, 620);
    }

    /** The decisions of the run, in a few lines of markdown. */
    static String markdown(PromotionReader.History history, String plot, java.util.OptionalInt poisonedClass) {
        Map<PromotionAction, Integer> counts = new EnumMap<>(PromotionAction.class);
        history.promotions().forEach(p -> counts.merge(p.getAction(), 1, Integer::sum));
        StringBuilder sb = new StringBuilder("\n## Promotions (the forgetting guardrail, docs/lifecycle.md)\n\n");
        sb.append("| decision | records |\n|---|---:|\n");
        counts.forEach((a, n) -> sb.append("| ").append(a).append(" | ").append(n).append(" |\n"));
        Promotion last = history.latest().orElse(null);
        if (last != null) {
            sb.append(String.format(Locale.ROOT, "%nServed at the end: version %d (newest candidate %d).%n", last.getPromotedVersion(),
                    last.getLatestVersion()));
        }
        Map<String, Integer> failed = new TreeMap<>();
        for (Promotion p : history.promotions()) {
            for (PolicyCheck c : p.getChecks()) {
                if (!c.getPassed()) {
                    failed.merge(c.getScope() + " " + c.getKey(), 1, Integer::sum);
                }
            }
        }
        if (!failed.isEmpty()) {
            sb.append("\nFailed checks of refused candidates: ");
            List<String> parts = new ArrayList<>();
            failed.forEach((k, n) -> parts.add(k.strip() + " (" + n + ")"));
            sb.append(String.join(", ", parts)).append(".\n");
            String cls = poisonedClass.isPresent() ? Integer.toString(poisonedClass.getAsInt()) : null;
            List<Promotion> naming = history.promotions().stream().filter(p -> p.getAction() == PromotionAction.REFUSED)
                    .filter(p -> cls == null || p.getChecks().stream().anyMatch(c -> !c.getPassed()
                            && c.getScope() == io.rehearsal.schemas.avro.CheckScope.CLASS && c.getKey().equals(cls)))
                    .toList();
            if (!naming.isEmpty()) {
                sb.append(cls == null ? "\nFirst refusal: " : "\nCandidates refused for the poisoned class " + cls + ": "
                        + naming.size() + "; the first: ").append(naming.get(0).getReason()).append(".\n");
            }
        }
        sb.append("\n![candidate vs promoted accuracy](").append(plot).append(")\n");
        return sb.toString();
    }

    @Override
    public void close() {
        sampler.shutdownNow();
        try {
            sampler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
