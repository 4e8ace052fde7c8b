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
 *
 * <p>The curator's clock (stream time and wall clock) follows the events, one millisecond apart, so a linger
 * never expires mid-stream. At the end of the stream, with a linger set, the clock moves on a linger at a time
 * until the curator stays quiet: what still waits then (a partial batch, corrections that came after the last
 * sample) is trained as a live curator would train it once traffic stops.
 */
public final class InProcessExperiment {
    /** Lingers in a row without a batch after which the end of the stream is drained. */
    static final int QUIET_LINGERS = 3;

    private InProcessExperiment() {
    }

    public static ExperimentResult run(ClassIncrementalStream stream, ExperimentSpec spec, Progress progress) {
        RunRecorder recorder = new RunRecorder(stream, spec, progress);
        try (InProcessCurator curator = new InProcessCurator(spec.curator());
             ContinualTrainer trainer = new ContinualTrainer(spec.trainer())) {
            Counts counts = new Counts();
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
                train(curator, trainer, spec, recorder, progress, counts);
                progress.event(task);
            }
            Duration linger = spec.curator().emission().linger();
            for (int quiet = 0; !linger.isZero() && quiet < QUIET_LINGERS; ) {
                curator.advance(linger);
                quiet = train(curator, trainer, spec, recorder, progress, counts) == 0 ? quiet + 1 : 0;
            }
            recorder.taskEnded(currentTask, trainer::predict);
            return recorder.result(counts.freshSeen == 0 ? Double.NaN : (double) counts.freshCorrect / counts.freshSeen,
                    trainer.evals().accuracy(), trainer.step(), counts.views, counts.deadLetters);
        }
    }

    /** Trains (or evaluates) what the curator emitted; returns how many batches that was. */
    private static int train(InProcessCurator curator, ContinualTrainer trainer, ExperimentSpec spec, RunRecorder recorder,
                             Progress progress, Counts counts) {
        counts.deadLetters += curator.deadLetters().size();
        List<TrainBatch> batches = curator.batches();
        for (TrainBatch named : batches) {
            TrainBatch batch = curator.withFeatures(named); // items name their samples: resolved as a trainer does
            if (batch.getKind() == BatchKind.EVAL) {
                trainer.evaluate(batch);
                continue;
            }
            StepResult r = trainer.train(batch);
            counts.views += r.views();
            counts.freshSeen += r.freshItems();
            counts.freshCorrect += r.freshCorrect();
            progress.step(r);
            if (spec.curveEverySteps() > 0 && r.step() % spec.curveEverySteps() == 0) {
                progress.curvePoint(r.step(), recorder.curvePoint(r.step(), trainer::predict));
            }
        }
        return batches.size();
    }

    private static final class Counts {
        long views;
        long freshSeen;
        long freshCorrect;
        long deadLetters;
    }
}
