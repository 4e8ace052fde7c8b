package io.rehearsal.bench.perf;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures of {@code rehearsal bench perf}: one row each, rehearsal's value next to its peer's,
 * measured in the same run, and their ratio (oriented so that above 1 means rehearsal is better).
 */
public final class PerfTable {
    /** Which way is better for a row's unit. */
    public enum Better { HIGHER, LOWER, NONE }

    /**
     * One figure.
     *
     * @param section  trainer, ingest, freshness, memory
     * @param name     what was measured
     * @param unit     e.g. samples/s, ms, MB
     * @param rehearsal rehearsal's value (NaN: not measured)
     * @param peer     the peer's value (NaN: no peer, or skipped)
     * @param peerName who the peer is, e.g. "PyTorch 1.13 eager (OpenBLAS)"
     * @param better   which way is better, to orient the ratio
     * @param note     conditions, e.g. "p50 of 3 interleaved rounds"
     */
    public record Row(String section, String name, String unit, double rehearsal, double peer, String peerName,
                      Better better, String note) {
        /** rehearsal / peer for higher-is-better, peer / rehearsal for lower-is-better; NaN without a peer. */
        public double ratio() {
            if (Double.isNaN(peer) || Double.isNaN(rehearsal) || better == Better.NONE) {
                return Double.NaN;
            }
            return better == Better.HIGHER ? rehearsal / peer : peer / rehearsal;
        }
    }

    private final List<Row> rows = new ArrayList<>();

    public synchronized void add(Row row) {
        rows.add(row);
    }

    public synchronized List<Row> rows() {
        return List.copyOf(rows);
    }

    /** A markdown table of every row. */
    public synchronized String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| section | figure | rehearsal | peer | ratio | peer is | notes |\n");
        b.append("|---|---|---:|---:|---:|---|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", r.section(), r.name(),
                    value(r.rehearsal(), r.unit()), value(r.peer(), r.unit()),
                    Double.isNaN(r.ratio()) ? "" : String.format(Locale.ROOT, "%.2f", r.ratio()), r.peerName(), r.note()));
        }
        return b.toString();
    }

    static String value(double v, String unit) {
        if (Double.isNaN(v)) {
            return "-";
        }
        String number = Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%,.0f", v)
                : Math.abs(v) >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.2f", v);
        return number + " " + unit;
    }
}
