package io.rehearsal.bench.experiment;

import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.ClassIncrementalStream.Event;
import io.rehearsal.bench.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.cli.report.AccuracyMatrix;
import io.rehearsal.cli.report.LearningCurves.Point;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What both ways of running an experiment record the same way: the accuracy matrix at task
 * boundaries (all held-out test images), the learning curves (a sample of them), where tasks begin,
 * and the result.
 */
final class RunRecorder {
    private final ClassIncrementalStream stream;
    private final ExperimentSpec spec;
    private final Progress progress;
    private final TaskEvaluator full;
    private final TaskEvaluator sampled;
    private final AccuracyMatrix matrix;
    private final Map<String, List<Point>> curves = new LinkedHashMap<>();
    private final Map<Double, String> boundaries = new LinkedHashMap<>();
    private final long started = System.nanoTime();

    RunRecorder(ClassIncrementalStream stream, ExperimentSpec spec, Progress progress) {
        this.stream = stream;
        this.spec = spec;
        this.progress = progress;
        this.full = new TaskEvaluator(stream.tests(), 0);
        this.sampled = new TaskEvaluator(stream.tests(), spec.curveImagesPerTask());
        this.matrix = new AccuracyMatrix(stream.tests().size());
        for (int t = 0; t < stream.tests().size(); t++) {
            curves.put("t" + t + " " + stream.tests().get(t).classes(), new ArrayList<>());
        }
    }

    boolean joint() {
        return stream.settings().joint();
    }

    /** The task an event counts for: its own, or 0 for the joint stream. */
    int taskOf(Event e) {
        return joint() ? 0 : e.task();
    }

    /** Events from {@code from} on that belong to the same task. */
    int eventsOfTask(List<Event> events, int from) {
        if (joint()) {
            return events.size() - from;
        }
        int task = events.get(from).task();
        int n = 0;
        for (int i = from; i < events.size() && events.get(i).task() == task; i++) {
            n++;
        }
        return n;
    }

    /** A new task begins at {@code step}. */
    void boundary(long step, int task) {
        boundaries.put((double) step, "t" + task);
    }

    /** One point of every task's learning curve, on a sample of its test images. */
    double[] curvePoint(long step, Function<List<float[]>, int[]> model) {
        double[] acc = sampled.accuracies(model);
        int t = 0;
        for (List<Point> curve : curves.values()) {
            curve.add(new Point(step, acc[t++]));
        }
        return acc;
    }

    /** The matrix row after {@code task} (after the whole stream for the joint run), on all test images. */
    void taskEnded(int task, Function<List<float[]>, int[]> model) {
        double[] acc = full.accuracies(model);
        int row = joint() ? matrix.tasks() - 1 : task;
        for (int t = 0; t < acc.length; t++) {
            matrix.set(row, t, acc[t]);
        }
        progress.taskEnded(task, acc);
    }

    ExperimentResult result(double prequential, double evalSetAccuracy, long steps, long views, long deadLetters) {
        double seconds = (System.nanoTime() - started) / 1e9;
        double finalAccuracy = Arrays.stream(matrix.values()[matrix.tasks() - 1]).average().orElse(Double.NaN);
        return new ExperimentResult(spec.name(), matrix, finalAccuracy, joint() ? Double.NaN : matrix.averageForgetting(),
                prequential, evalSetAccuracy, steps, views, seconds, curves, boundaries, deadLetters);
    }

    static Instant eventTime(Event e) {
        return e instanceof SampleEvent s ? s.sample().getEventTime() : ((FeedbackEvent) e).feedback().getEventTime();
    }
}
