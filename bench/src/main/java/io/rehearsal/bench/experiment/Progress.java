package io.rehearsal.bench.experiment;

import io.rehearsal.models.train.StepResult;

/** Callbacks from a running experiment, for progress bars and live lines. All optional. */
public interface Progress {
    Progress NONE = new Progress() {
    };

    /** A task's events start streaming. */
    default void taskStarted(int task, int events) {
    }

    /** One more event of the current task was handled. */
    default void event(int task) {
    }

    default void step(StepResult result) {
    }

    /** A newly published snapshot was evaluated on a sample of each task's test images. */
    default void snapshot(long version, long step, double[] accuracies) {
    }

    /** A task ended; {@code accuracies} is the matrix row (accuracy on each task so far). */
    default void taskEnded(int task, double[] accuracies) {
    }
}
