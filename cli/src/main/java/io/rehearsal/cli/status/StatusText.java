package io.rehearsal.cli.status;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.cli.status.Status.Lag;
import io.rehearsal.cli.status.Status.ModelStatus;
import io.rehearsal.cli.status.Status.Report;
import io.rehearsal.models.release.PromotionJson;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.Promotion;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** A {@link Report} as plain text in columns (like {@code kafka-consumer-groups --describe}) or as JSON. */
public final class StatusText {
    private StatusText() {
    }

    public static String text(Report r) {
        StringBuilder sb = new StringBuilder();
        sb.append("rehearsal status at ").append(r.at()).append("\n\n");
        if (r.models().isEmpty()) {
            sb.append("no model has published a snapshot yet\n\n");
        } else {
            sb.append(String.format("%-16s %-9s %-7s %-7s %-7s %-26s %-13s %-11s %s%n", "MODEL", "PROMOTED", "LATEST", "BEHIND",
                    "PINNED", "HELD-BACK", "PROMOTED-AGE", "LATEST-AGE", "SERVED"));
            for (ModelStatus m : r.models()) {
                Optional<ReleaseState> s = m.release();
                sb.append(String.format("%-16s %-9s %-7d %-7s %-7s %-26s %-13s %-11s %s%n", m.modelId(),
                        s.map(x -> x.promotedVersion() == 0 ? "none" : Long.toString(x.promotedVersion())).orElse("-"),
                        m.latestVersion(), s.map(x -> Long.toString(Math.max(0, m.latestVersion() - x.promotedVersion()))).orElse("-"),
                        s.map(x -> x.pinned() ? "yes" : "no").orElse("-"),
                        s.flatMap(ReleaseState::heldBackSince).map(t -> age(t, r.at()) + " (" + s.get().candidatesHeldBack()
                                + " candidates)").orElse(s.isPresent() ? "no" : "no promoter"),
                        m.promotedCreated().map(t -> age(t, r.at())).orElse("-"), m.latestCreated().map(t -> age(t, r.at())).orElse("-"),
                        m.served().isEmpty() ? "-" : m.served().entrySet().stream()
                                .map(e -> e.getKey() + "=v" + (long) (double) e.getValue()).reduce((a, b) -> a + " " + b).orElse("")));
            }
            sb.append('\n');
            sb.append(String.format("%-16s %-10s %-36s %-36s %s%n", "MODEL", "COMPONENT", "GROUP", "TOPIC", "LAG"));
            for (ModelStatus m : r.models()) {
                for (Lag l : m.lags()) {
                    sb.append(String.format("%-16s %-10s %-36s %-36s %s%n", m.modelId(), l.component(), l.group(), l.topic(),
                            l.lag() < 0 ? "?" : l.committed() ? Long.toString(l.lag()) : l.lag() + " (no offsets committed)"));
                }
            }
            for (ModelStatus m : r.models()) {
                evaluation(sb, m);
                if (!m.bufferByClass().isEmpty()) {
                    sb.append(String.format("%nbuffer occupancy of model %s (curator metrics)%n%-8s %s%n", m.modelId(), "CLASS", "SAMPLES"));
                    new java.util.TreeMap<>(m.bufferByClass()).forEach((k, v) -> sb.append(String.format("%-8s %d%n", k, (long) (double) v)));
                }
            }
            sb.append('\n');
        }
        sb.append("dead letters in the last hour").append(r.deadLettersCut() ? " (the first " + Status.MAX_DEAD_LETTERS + " read)" : "")
                .append('\n');
        if (r.deadLettersLastHour().isEmpty()) {
            sb.append("  none\n");
        } else {
            sb.append(String.format("%-12s %-24s %s%n", "COMPONENT", "REASON", "COUNT"));
            r.deadLettersLastHour().forEach((component, reasons) -> reasons.forEach((reason, n) ->
                    sb.append(String.format("%-12s %-24s %d%n", component, reason, n))));
        }
        r.metricsErrors().forEach((name, error) -> sb.append("metrics of ").append(name).append(": ").append(error).append('\n'));
        return sb.toString();
    }

    private static void evaluation(StringBuilder sb, ModelStatus m) {
        Optional<Promotion> d = m.lastDecision();
        if (d.isEmpty()) {
            if (!m.snapshotEvalByTask().isEmpty()) {
                sb.append(String.format("%nlast evaluation of model %s (the trainer's, latest version %d; no promoter)%n", m.modelId(),
                        m.latestVersion()));
                m.snapshotEvalByTask().forEach((t, a) -> sb.append(String.format("  task %-12s %s%n", t.isEmpty() ? "(none)" : t, pct(a))));
            }
            return;
        }
        Promotion p = d.get();
        sb.append(String.format("%nlast decision on model %s: %s version %d by %s at %s%n  %s%n", m.modelId(), p.getAction(),
                p.getCandidateVersion(), p.getActor(), p.getTime(), p.getReason()));
        Evaluation c = p.getEvaluation();
        if (c == null) {
            return;
        }
        Evaluation b = p.getBaseline();
        sb.append(String.format("%-16s %-10s %-10s %s%n", "TASK", "v" + c.getVersion(), b == null ? "-" : "v" + b.getVersion(), "SAMPLES"));
        TreeSet<String> tasks = new TreeSet<>(c.getByTask().keySet());
        for (String t : tasks) {
            GroupScore cs = c.getByTask().get(t);
            GroupScore bs = b == null ? null : b.getByTask().get(t);
            sb.append(String.format("%-16s %-10s %-10s %d%n", t.isEmpty() ? "(none)" : t, pct(cs.getAccuracy()),
                    bs == null ? "-" : pct(bs.getAccuracy()), cs.getSamples()));
        }
        sb.append(String.format("%-16s %-10s %-10s %d%n", "overall", pct(c.getAccuracy()), b == null ? "-" : pct(b.getAccuracy()),
                c.getSamples()));
    }

    public static ObjectNode json(Report r) {
        ObjectNode o = JsonCodec.mapper().createObjectNode();
        o.put("time", r.at().toString());
        ArrayNode models = o.putArray("models");
        for (ModelStatus m : r.models()) {
            ObjectNode n = models.addObject();
            n.put("modelId", m.modelId());
            n.put("latestVersion", m.latestVersion());
            m.latestCreated().ifPresent(t -> n.put("latestAgeSeconds", seconds(t, r.at())));
            m.promotedCreated().ifPresent(t -> n.put("promotedAgeSeconds", seconds(t, r.at())));
            m.release().ifPresent(s -> {
                n.put("promotedVersion", s.promotedVersion());
                n.put("pinned", s.pinned());
                n.put("heldBackSeconds", s.heldBackFor(r.at()).toMillis() / 1000.0);
                n.put("candidatesHeldBack", s.candidatesHeldBack());
            });
            m.lastDecision().ifPresent(p -> n.set("lastDecision", PromotionJson.toJson(p)));
            ObjectNode byTask = n.putObject("snapshotEvalByTask");
            m.snapshotEvalByTask().forEach(byTask::put);
            ArrayNode lags = n.putArray("lag");
            for (Lag l : m.lags()) {
                lags.addObject().put("component", l.component()).put("group", l.group()).put("topic", l.topic())
                        .put("lag", l.lag()).put("committed", l.committed());
            }
            ObjectNode buffer = n.putObject("bufferByClass");
            m.bufferByClass().forEach((k, v) -> buffer.put(k, v.longValue()));
            ObjectNode served = n.putObject("served");
            m.served().forEach((k, v) -> served.put(k, v.longValue()));
        }
        ObjectNode dead = o.putObject("deadLettersLastHour");
        r.deadLettersLastHour().forEach((component, reasons) -> {
            ObjectNode c = dead.putObject(component);
            reasons.forEach(c::put);
        });
        o.put("deadLettersCut", r.deadLettersCut());
        ObjectNode errors = o.putObject("metricsErrors");
        r.metricsErrors().forEach(errors::put);
        return o;
    }

    private static double seconds(Instant t, Instant now) {
        return Duration.between(t, now).toMillis() / 1000.0;
    }

    static String age(Instant t, Instant now) {
        long ms = Math.max(0, Duration.between(t, now).toMillis());
        return ms < 10_000 ? String.format(Locale.ROOT, "%.1f s", ms / 1000.0) : ms < 120_000 ? ms / 1000 + " s"
                : ms < 7_200_000 ? ms / 60_000 + " min" : ms / 3_600_000 + " h";
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

}
