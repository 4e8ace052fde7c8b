package io.rehearsal.bench.experiment;

import io.rehearsal.models.train.StepResult;

/** Callbacks from a running experiment, for progress bars and live lines. All optional. */
public interface Progress {
    Progress NONE = new Progress() {
    };

    /**
     * A task starts streaming; {@code size} is what its progress counts: its events in process, its samples through
     * Kafka.
     */
    default void taskStarted(int task, int size) {
    }

    /** One more event of the current task was handled. */
    default void event(int task) {
    }

    default void step(StepResult result) {
    }

    /** In process: the model was evaluated on a sample of each task's test images (a learning-curve point). */
    default void curvePoint(long step, double[] accuracies) {
    }

    /** Through Kafka: the subscriber serves a new snapshot, evaluated on a sample of each task's test images. */
    default void served(Served served) {
    }

    /** A task ended; {@code accuracies} is the matrix row (accuracy on each task so far). */
    default void taskEnded(int task, double[] accuracies) {
    }
}
