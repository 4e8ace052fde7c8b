package io.rehearsal.bench;

import io.rehearsal.bench.console.Bars;
import io.rehearsal.bench.experiment.Progress;
import io.rehearsal.bench.experiment.Served;
import io.rehearsal.models.train.StepResult;
import me.tongfei.progressbar.ProgressBar;

/**
 * One bar per benchmark run (a configuration, buffer size and seed): in process it counts the stream's events,
 * through Kafka the samples the served model has learned; on its line the step, the loss and the latest
 * accuracy on each task streamed so far.
 */
final class ClProgress implements Progress, AutoCloseable {
    private final ProgressBar bar;
    private long doneBefore;
    private long taskSize;
    private int task = -1;
    private StepResult last;
    private String accuracies = "";

    /**
     * @param total what the run counts in all: its events in process, its samples through Kafka
     */
    ClProgress(Bars bars, String name, long total, String unit) {
        this.bar = bars.bar(name, total, unit);
    }

    @Override
    public synchronized void taskStarted(int task, int size) {
        doneBefore += this.task >= 0 ? taskSize : 0;
        this.task = task;
        this.taskSize = size;
    }

    @Override
    public void event(int task) {
        bar.step();
    }

    @Override
    public synchronized void step(StepResult result) {
        last = result;
    }

    @Override
    public synchronized void curvePoint(long step, double[] acc) {
        accuracies = format(acc, task);
        refresh();
    }

    @Override
    public synchronized void served(Served s) {
        bar.stepTo(doneBefore + s.taskLearned());
        accuracies = format(s.accuracies(), task);
        bar.setExtraMessage(String.format(" v%d step %d | %s", s.version(), s.step(), accuracies));
    }

    @Override
    public synchronized void taskEnded(int task, double[] acc) {
        accuracies = format(acc, task);
        refresh();
    }

    private void refresh() {
        if (last != null) {
            bar.setExtraMessage(String.format(" step %d loss %.3f | %s", last.step(), last.loss(), accuracies));
        }
    }

    static String format(double[] acc, int upTo) {
        StringBuilder sb = new StringBuilder();
        for (int t = 0; t <= upTo && t < acc.length; t++) {
            sb.append(String.format("t%d %.0f%% ", t, 100 * acc[t]));
        }
        return sb.toString().stripTrailing();
    }

    @Override
    public void close() {
        bar.stepTo(bar.getMax());
        bar.close();
    }
}
