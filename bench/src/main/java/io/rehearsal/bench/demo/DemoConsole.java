package io.rehearsal.bench.demo;

import io.rehearsal.bench.console.Bars;
import io.rehearsal.bench.data.FashionMnist;
import io.rehearsal.bench.experiment.Progress;
import io.rehearsal.bench.experiment.Served;
import java.util.Arrays;
import me.tongfei.progressbar.ProgressBar;

/**
 * The demo as a person watches it: one bar per task, counting the task's samples the served model has learned,
 * with its rate and ETA, and on the bar's line the served snapshot (version, step), its accuracy on each task so
 * far and its freshness; a line per finished task with the accuracy matrix's row.
 */
final class DemoConsole implements Progress, AutoCloseable {
    private final Bars bars;
    private ProgressBar bar;
    private int task = -1;

    DemoConsole(Bars bars) {
        this.bars = bars;
    }

    @Override
    public synchronized void taskStarted(int task, int events) {
        close();
        this.task = task;
        bar = bars.bar(name(task), events, "samples");
        bar.setExtraMessage(" waiting for a snapshot");
    }

    @Override
    public synchronized void served(Served s) {
        if (bar == null || s.task() != task) {
            return;
        }
        bar.maxHint(s.taskSamples());
        bar.stepTo(s.taskLearned());
        bar.setExtraMessage(String.format(" v%d step %d | %s| fresh %s", s.version(), s.step(),
                accuracies(s.accuracies(), task), s.freshness() == null ? "-" : String.format("%.1f s", s.freshness().toMillis() / 1000.0)));
    }

    @Override
    public synchronized void taskEnded(int task, double[] accuracies) {
        if (bar != null) {
            bar.stepTo(bar.getMax());
        }
        close();
        double mean = Arrays.stream(accuracies, 0, task + 1).average().orElse(Double.NaN);
        bars.out().printf("  after %s: %smean %.1f%%%n", "t" + task, accuracies(accuracies, task), 100 * mean);
    }

    static String name(int task) {
        return String.format("%-22s", String.format("t%d %s/%s", task, FashionMnist.CLASS_NAMES.get(2 * task), FashionMnist.CLASS_NAMES.get(2 * task + 1)));
    }

    /** "t0 97% t1 88% " for the tasks streamed so far. */
    static String accuracies(double[] acc, int upTo) {
        StringBuilder sb = new StringBuilder();
        for (int t = 0; t <= upTo && t < acc.length; t++) {
            sb.append(String.format("t%d %.0f%% ", t, 100 * acc[t]));
        }
        return sb.toString();
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
