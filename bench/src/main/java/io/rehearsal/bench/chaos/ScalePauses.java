package io.rehearsal.bench.chaos;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The curator's pause after each scale event: the longest gap between committed batches, as the controller saw them
 * arrive, in the {@value #WINDOW_SECONDS} s after the event (from the event to the first batch counts as a gap).
 * Pure bookkeeping on {@link System#nanoTime()} values, fed by the controller.
 */
final class ScalePauses {
    static final int WINDOW_SECONDS = 60;
    private static final long WINDOW = WINDOW_SECONDS * 1_000_000_000L;

    /** Arrival times of committed batches, in order. */
    private final List<Long> arrivals = new ArrayList<>();
    private final List<ChaosResult.CuratorScale> scales = new ArrayList<>();
    /** Events whose window is still open: {index in scales, time of the event}. */
    private final List<long[]> open = new ArrayList<>();

    /** A scale event at {@code nanos}, the curator at {@code progress} of its input. */
    void scaled(ChaosPlan.Fault fault, double progress, long nanos) {
        scales.add(new ChaosResult.CuratorScale(fault, progress, Double.NaN));
        open.add(new long[] {scales.size() - 1, nanos});
    }

    /** A committed batch read at {@code nanos}. */
    void batch(long nanos) {
        arrivals.add(nanos);
    }

    /** Closes the events whose window ended by {@code now}. */
    void closeBefore(long now) {
        for (Iterator<long[]> it = open.iterator(); it.hasNext(); ) {
            long[] m = it.next();
            if (now - m[1] >= WINDOW) {
                it.remove();
                close(m);
            }
        }
    }

    /** Closes every event still open (the end of the run: their windows are cut short). */
    void closeAll() {
        open.forEach(this::close);
        open.clear();
    }

    /** Each event with its longest gap (NaN while its window is open). */
    List<ChaosResult.CuratorScale> scales() {
        return List.copyOf(scales);
    }

    private void close(long[] m) {
        long from = m[1];
        long until = from + WINDOW;
        long previous = -1;
        long longest = 0;
        for (long t : arrivals) {
            if (t > until) {
                break;
            }
            if (t >= from) {
                longest = Math.max(longest, t - (previous < 0 ? from : Math.max(previous, from)));
            }
            previous = t;
        }
        ChaosResult.CuratorScale s = scales.get((int) m[0]);
        scales.set((int) m[0], new ChaosResult.CuratorScale(s.fault(), s.atProgress(), longest / 1e9));
    }
}
