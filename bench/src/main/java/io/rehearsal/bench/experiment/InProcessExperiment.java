package io.rehearsal.bench.experiment;

import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.ClassIncrementalStream.Event;
import io.rehearsal.bench.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.StepResult;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.InProcessCurator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

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
        RunRecorder recorder = new RunRecorder(stream, spec, progress);
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
                int task = recorder.taskOf(e);
                if (task != currentTask) {
                    if (currentTask >= 0) {
                        recorder.taskEnded(currentTask, trainer::predict);
                        recorder.boundary(trainer.step(), task);
                    }
                    currentTask = task;
                    progress.taskStarted(task, recorder.eventsOfTask(events, i));
                }
                Instant at = RunRecorder.eventTime(e);
                if (at.isAfter(curator.now())) {
                    curator.advance(Duration.between(curator.now(), at));
                }
                if (e instanceof SampleEvent s) {
                    curator.sample(s.sample());
                } else if (e instanceof FeedbackEvent f) {
                    curator.feedback(f.feedback());
                }
                deadLetters += curator.deadLetters().size();
                for (TrainBatch named : curator.batches()) {
                    TrainBatch batch = curator.withFeatures(named);
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
                        progress.curvePoint(r.step(), recorder.curvePoint(r.step(), trainer::predict));
                    }
                }
                progress.event(task);
            }
            recorder.taskEnded(currentTask, trainer::predict);
            return recorder.result(freshSeen == 0 ? Double.NaN : (double) freshCorrect / freshSeen, trainer.evals().accuracy(),
                    trainer.step(), views, deadLetters);
        }
    }
}
