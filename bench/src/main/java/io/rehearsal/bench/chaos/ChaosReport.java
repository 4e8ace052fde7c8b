package io.rehearsal.bench.chaos;

import io.rehearsal.bench.chaos.ChaosPlan.Fault;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A chaos run next to its clean reference: the checks on the chaos run's topics, the accuracy bound, how
 * much of the curator's output was identical, and the figures, as markdown.
 */
public record ChaosReport(ChaosResult clean, ChaosResult chaos, double tolerance) {

    /** Every verdict: the chaos run's topic checks, its faults all carried out, and the accuracy bound. */
    public List<LineageCheck.Check> checks() {
        List<LineageCheck.Check> out = new ArrayList<>(chaos.lineage().checks());
        double gap = Math.abs(chaos.finalAccuracy() - clean.finalAccuracy());
        out.add(new LineageCheck.Check("final accuracy within " + points(tolerance) + " of the clean run", gap <= tolerance,
                String.format(Locale.ROOT, "chaos %.2f%%, clean %.2f%%: %s points apart", 100 * chaos.finalAccuracy(),
                        100 * clean.finalAccuracy(), points(gap))));
        out.add(new LineageCheck.Check("clean run consistent", clean.lineage().passed(),
                clean.lineage().passed() ? "the reference run passes the same checks" : "the reference run fails: "
                        + clean.lineage().checks().stream().filter(k -> !k.passed()).map(k -> k.name() + " (" + k.detail() + ")").toList()));
        return out;
    }

    public boolean passed() {
        return checks().stream().allMatch(LineageCheck.Check::passed);
    }

    /** How many committed batches are identical (items, labels, roles, recall counts) in both runs, in order. */
    public int identicalBatches() {
        List<String> a = clean.lineage().batchSignatures();
        List<String> b = chaos.lineage().batchSignatures();
        int same = 0;
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            same += a.get(i).equals(b.get(i)) ? 1 : 0;
        }
        return same;
    }

    /** Whether the two runs ended with bit-identical weights (the same SHA-256 of the parameter blob). */
    public boolean identicalWeights() {
        return sha256(clean) != null && sha256(clean).equals(sha256(chaos));
    }

    private static String sha256(ChaosResult r) {
        return r.lineage().last() == null ? null : r.lineage().last().getParameters().getSha256();
    }

    public String markdown() {
        StringBuilder sb = new StringBuilder();
        ChaosResult c = chaos;
        sb.append("| figure | chaos | clean |\n|---|---|---|\n");
        row(sb, "trainer kills (SIGKILL): while training / in an open transaction / during start",
                c.faults(Fault.TRAINER_KILL) + " / " + c.faults(Fault.TRAINER_KILL_IN_TRANSACTION) + " / "
                        + c.faults(Fault.TRAINER_KILL_AT_START), "0");
        row(sb, "curator kills (SIGKILL)", c.faults(Fault.CURATOR_KILL), 0);
        row(sb, "brokers (replication factor / min.insync.replicas)", c.topology().brokers() + " ("
                + io.rehearsal.schemas.Replication.forBrokers(c.topology().brokers()).factor() + " / "
                + io.rehearsal.schemas.Replication.forBrokers(c.topology().brokers()).minInSyncReplicas() + ")",
                clean.topology().brokers());
        row(sb, "broker restarts", c.faults(Fault.BROKER_RESTART), 0);
        row(sb, "curator scale events (1 -> 3 / 3 -> 1)", c.faults(Fault.CURATOR_SCALE_OUT) + " / " + c.faults(Fault.CURATOR_SCALE_IN), "0");
        row(sb, "trainers (active + standby)", c.topology().standbyTrainer() ? "2" : "1", "1");
        if (!c.failoverMillis().isEmpty()) {
            long[] f = c.failoverP50Max();
            row(sb, "standby takeover, kill to first new snapshot (p50 / max, n)", String.format(Locale.ROOT, "%.1f s / %.1f s, %d",
                    f[0] / 1e3, f[1] / 1e3, c.failoverMillis().size()), "-");
        }

        row(sb, "unplanned exits (restarted)", c.unplannedExits().isEmpty() ? "0" : c.unplannedExits().toString(),
                clean.unplannedExits().isEmpty() ? "0" : clean.unplannedExits().toString());
        row(sb, "snapshot transactions aborted by a kill (chunks written, never committed)",
                c.lineage().abortedChunkTransactions(), clean.lineage().abortedChunkTransactions());
        row(sb, "snapshot records aborted", c.lineage().abortedSnapshots(), clean.lineage().abortedSnapshots());
        row(sb, "curator batch records aborted", c.lineage().abortedBatchRecords(), clean.lineage().abortedBatchRecords());
        row(sb, "committed snapshot versions", c.lineage().versions(), clean.lineage().versions());
        row(sb, "training steps in the final snapshot", c.lineage().finalStep(), clean.lineage().finalStep());
        row(sb, "committed TRAIN / EVAL batches", c.lineage().trainBatches() + " / " + c.lineage().evalBatches(),
                clean.lineage().trainBatches() + " / " + clean.lineage().evalBatches());
        row(sb, "batches identical to the clean run", identicalBatches() + " of " + c.lineage().batchSignatures().size(), "-");
        row(sb, "trainable samples, each trained FRESH once", c.lineage().trainableSamples(), clean.lineage().trainableSamples());
        row(sb, "steps re-trained after kills (total / max per kill)", c.retrainedSteps() + " / " + c.maxRetrainedSteps(), "0");
        row(sb, "dead letters", c.lineage().deadLetters(), clean.lineage().deadLetters());
        row(sb, "final weights bit-identical to the clean run (SHA-256)", identicalWeights() ? "yes" : "no", "-");
        row(sb, "final accuracy (mean over 5 tasks)", pct(c.finalAccuracy()), pct(clean.finalAccuracy()));
        row(sb, "accuracy per task", perTask(c.accuracyPerTask()), perTask(clean.accuracyPerTask()));
        row(sb, "wall time", String.format(Locale.ROOT, "%.0f s", c.seconds()), String.format(Locale.ROOT, "%.0f s", clean.seconds()));
        sb.append("\n| check | result | detail |\n|---|---|---|\n");
        for (LineageCheck.Check k : checks()) {
            sb.append("| ").append(k.name()).append(" | ").append(k.passed() ? "pass" : "**FAIL**").append(" | ")
                    .append(k.detail().replace("|", "/")).append(" |\n");
        }
        if (!c.brokerRestarts().isEmpty()) {
            sb.append("\n| broker restart | node | what it was | down |\n|---|---|---|---|\n");
            int i = 1;
            for (ChaosResult.BrokerRestart r : c.brokerRestarts()) {
                sb.append(String.format(Locale.ROOT, "| %d | %d | %s | %.1f s |%n", i++, r.node(), r.role(), r.downSeconds()));
            }
        }
        if (!c.curatorScales().isEmpty()) {
            sb.append("\n| curator scale event | at input | longest gap between batches in the 60 s after |\n|---|---|---|\n");
            for (ChaosResult.CuratorScale e : c.curatorScales()) {
                // once the curator has read all its input, a gap is the stream's end, not a pause
                sb.append(String.format(Locale.ROOT, "| %s | %.0f%% | %s |%n", e.fault() == Fault.CURATOR_SCALE_OUT ? "1 -> 3" : "3 -> 1",
                        100 * e.atProgress(), e.atProgress() >= 0.999 ? "- (input all read)"
                                : String.format(Locale.ROOT, "%.2f s", e.longestGapSeconds())));
            }
        }
        if (!c.kills().isEmpty()) {
            sb.append("\n| trainer kill | how | uptime | resumed at step | steps taken | step that survived | re-trained |\n"
                    + "|---|---|---|---|---|---|---|\n");
            int i = 1;
            for (ChaosResult.TrainerKill k : c.kills()) {
                sb.append(String.format(Locale.ROOT, "| %d | %s | %.1f s | %d | %s | %d | %d |%n", i++,
                        k.fault().name().toLowerCase(Locale.ROOT), k.uptimeMillis() / 1e3, k.resumedStep(),
                        k.stepsTaken() < 0 ? "-" : Long.toString(k.stepsTaken()), k.committedStep(), k.retrained()));
            }
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, Object chaos, Object clean) {
        sb.append("| ").append(name).append(" | ").append(chaos).append(" | ").append(clean).append(" |\n");
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * v);
    }

    private static String points(double v) {
        return String.format(Locale.ROOT, "%.2f", 100 * v);
    }

    private static String perTask(double[] acc) {
        StringBuilder sb = new StringBuilder();
        for (double a : acc) {
            sb.append(sb.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.3f", a));
        }
        return sb.toString();
    }
}
