package io.rehearsal.cli.experiment;

import io.rehearsal.cli.data.ClassIncrementalStream;
import io.rehearsal.cli.data.ClassIncrementalStream.Event;
import io.rehearsal.cli.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.cli.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.cli.report.AccuracyMatrix;
import io.rehearsal.cli.report.LearningCurves.Point;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.StepResult;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.InProcessCurator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an experiment without a broker, through the production classes: the curator's topology (driven
 * by {@link InProcessCurator}) and the {@link ContinualTrainer} that {@code TrainerApp} wraps. Each
 * event is pushed with its event time as record time, each emitted batch is trained (or evaluated)
 * at once, and at every task boundary the model is evaluated on every task's held-out test images.
 */
public final class InProcessExperiment {
    private InProcessExperiment() {
    }

    public static ExperimentResult run(ClassIncrementalStream stream, ExperimentSpec spec, Progress progress) {
        long started = System.nanoTime();
        int tasks = stream.tests().size();
        boolean joint = stream.settings().joint();
        TaskEvaluator full = new TaskEvaluator(stream.tests(), 0);
        TaskEvaluator sampled = new TaskEvaluator(stream.tests(), spec.curveImagesPerTask());
        AccuracyMatrix matrix = new AccuracyMatrix(tasks);
        Map<String, List<Point>> curves = new LinkedHashMap<>();
        for (int t = 0; t < tasks; t++) {
            curves.put("t" + t + " " + stream.tests().get(t).classes(), new ArrayList<>());
        }
        Map<Double, String> boundaries = new LinkedHashMap<>();
        long views = 0;
        long freshSeen = 0;
        long freshCorrect = 0;
        long deadLetters = 0;
        try (InProcessCurator curator = new InProcessCurator(spec.curator());
             ContinualTrainer trainer = new ContinualTrainer(spec.trainer())) {
            List<Event> events = stream.events();
            int currentTask = -1;
            for (int i = 0; i < events.size(); i++) {
                Event e = events.get(i);
                int task = joint ? 0 : e.task();
                if (task != currentTask) {
                    if (currentTask >= 0) {
                        endTask(currentTask, trainer, full, matrix, progress);
                        boundaries.put((double) trainer.step(), "t" + task);
                    }
                    currentTask = task;
                    progress.taskStarted(task, countTask(events, i, joint));
                }
                Instant at = eventTime(e);
                if (at.isAfter(curator.now())) {
                    curator.advance(Duration.between(curator.now(), at));
                }
                if (e instanceof SampleEvent s) {
                    curator.sample(s.sample());
                } else if (e instanceof FeedbackEvent f) {
                    curator.feedback(f.feedback());
                }
                deadLetters += curator.deadLetters().size();
                for (TrainBatch batch : curator.batches()) {
                    if (batch.getKind() == BatchKind.EVAL) {
                        trainer.evaluate(batch);
                        continue;
                    }
                    StepResult r = trainer.train(batch);
                    views += r.views();
                    freshSeen += r.freshItems();
                    freshCorrect += r.freshCorrect();
                    progress.step(r);
                    if (spec.curveEverySteps() > 0 && r.step() % spec.curveEverySteps() == 0) {
                        double[] acc = sampled.accuracies(trainer::predict);
                        int t = 0;
                        for (List<Point> curve : curves.values()) {
                            curve.add(new Point(r.step(), acc[t++]));
                        }
                    }
                }
                progress.event(task);
            }
            if (joint) {
                double[] acc = full.accuracies(trainer::predict);
                for (int t = 0; t < tasks; t++) {
                    matrix.set(tasks - 1, t, acc[t]);
                }
                progress.taskEnded(0, acc);
            } else {
                endTask(currentTask, trainer, full, matrix, progress);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            double[] last = matrix.values()[tasks - 1];
            double finalAccuracy = java.util.Arrays.stream(last).average().orElse(Double.NaN);
            return new ExperimentResult(spec.name(), matrix, finalAccuracy, joint ? Double.NaN : matrix.averageForgetting(),
                    freshSeen == 0 ? Double.NaN : (double) freshCorrect / freshSeen, trainer.evals().accuracy(),
                    trainer.step(), views, seconds, curves, boundaries, deadLetters);
        }
    }

    private static void endTask(int task, ContinualTrainer trainer, TaskEvaluator full, AccuracyMatrix matrix, Progress progress) {
        double[] acc = full.accuracies(trainer::predict);
        for (int t = 0; t < acc.length; t++) {
            matrix.set(task, t, acc[t]);
        }
        progress.taskEnded(task, acc);
    }

    private static int countTask(List<Event> events, int from, boolean joint) {
        if (joint) {
            return events.size() - from;
        }
        int task = events.get(from).task();
        int n = 0;
        for (int i = from; i < events.size() && events.get(i).task() == task; i++) {
            n++;
        }
        return n;
    }

    static Instant eventTime(Event e) {
        return e instanceof SampleEvent s ? s.sample().getEventTime() : ((FeedbackEvent) e).feedback().getEventTime();
    }
}
