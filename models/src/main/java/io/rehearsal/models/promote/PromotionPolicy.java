package io.rehearsal.models.promote;

import io.rehearsal.schemas.avro.CheckScope;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.PolicyCheck;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * When a candidate may replace the promoted version: a pure rule over two evaluations on the same held-out
 * samples (the candidate's and the promoted version's) and the best accuracy each task reached under a
 * promoted version, in the manner of TFX's Evaluator (value and change thresholds against the latest blessed
 * model), per task and per class. Validated on construction; see docs/lifecycle.md.
 *
 * <p>A candidate passes when every check passes:
 * <ul>
 *   <li>SAMPLES: it was evaluated on at least {@code minSamples} held-out samples (else nothing can be said);</li>
 *   <li>OVERALL: its accuracy is at least {@code minAccuracy}, and at most {@code maxOverallDrop} below the
 *       promoted version's on the same samples;</li>
 *   <li>TASK: on every task (or tag) with at least {@code minSamples} samples, its accuracy is at most
 *       {@code maxTaskDrop} below the best the task reached under a promoted version (no task forgets more
 *       than that);</li>
 *   <li>CLASS: on every class with at least {@code minSamples} samples, its accuracy is at most
 *       {@code maxClassDrop} below the best the class reached under a promoted version.</li>
 * </ul>
 * With no promoted version yet only SAMPLES and {@code minAccuracy} apply. A candidate that is <em>learning a
 * task</em>, more than {@code maxTaskDrop} above that task's best promoted accuracy (a new task of a
 * class-incremental stream, which the promoted version scores nothing on), may pay for it on the other tasks and
 * classes: their TASK and CLASS checks are left out, OVERALL still applies, and once it is promoted the best
 * accuracies start again from it ({@link Verdict#learning()}). Accuracies and drops are fractions (0.05 = 5 points).
 *
 * @param maxTaskDrop    how far a task may fall below its best promoted accuracy
 * @param maxClassDrop   how far a class may fall below its best promoted accuracy
 * @param maxOverallDrop how far the overall accuracy may fall below the promoted version's
 * @param minAccuracy    the overall accuracy a candidate needs at least (0: none)
 * @param minSamples     held-out samples needed to judge at all, and per task or class to judge it
 */
public record PromotionPolicy(double maxTaskDrop, double maxClassDrop, double maxOverallDrop, double minAccuracy,
                              int minSamples) {
    public PromotionPolicy {
        requireFraction(maxTaskDrop, "maxTaskDrop");
        requireFraction(maxClassDrop, "maxClassDrop");
        requireFraction(maxOverallDrop, "maxOverallDrop");
        requireFraction(minAccuracy, "minAccuracy");
        if (minSamples < 1) {
            throw new IllegalArgumentException("minSamples must be >= 1, got " + minSamples);
        }
    }

    private static void requireFraction(double v, String name) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(name + " must be a fraction in [0, 1] (0.05 = 5 points), got " + v);
        }
    }

    /**
     * Defaults: a task may fall 10 points below its best promoted accuracy, a class 20 points below its best,
     * the whole 5 points below the promoted version; no absolute floor; 20 samples to judge. A new task of a
     * class-incremental stream costs the old ones more than that: the learning rule admits it (docs/lifecycle.md,
     * "The policy").
     */
    public static PromotionPolicy defaults() {
        return new PromotionPolicy(0.10, 0.20, 0.05, 0.0, 20);
    }

    public PromotionPolicy optMaxTaskDrop(double v) {
        return new PromotionPolicy(v, maxClassDrop, maxOverallDrop, minAccuracy, minSamples);
    }

    public PromotionPolicy optMaxClassDrop(double v) {
        return new PromotionPolicy(maxTaskDrop, v, maxOverallDrop, minAccuracy, minSamples);
    }

    public PromotionPolicy optMaxOverallDrop(double v) {
        return new PromotionPolicy(maxTaskDrop, maxClassDrop, v, minAccuracy, minSamples);
    }

    public PromotionPolicy optMinAccuracy(double v) {
        return new PromotionPolicy(maxTaskDrop, maxClassDrop, maxOverallDrop, v, minSamples);
    }

    public PromotionPolicy optMinSamples(int v) {
        return new PromotionPolicy(maxTaskDrop, maxClassDrop, maxOverallDrop, minAccuracy, v);
    }

    /** The settings by name, as promotion records carry them. */
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("maxTaskDrop", Double.toString(maxTaskDrop));
        m.put("maxClassDrop", Double.toString(maxClassDrop));
        m.put("maxOverallDrop", Double.toString(maxOverallDrop));
        m.put("minAccuracy", Double.toString(minAccuracy));
        m.put("minSamples", Integer.toString(minSamples));
        return m;
    }

    /**
     * What the policy says of a candidate.
     *
     * @param passed   whether every check passed
     * @param checks   every check, the failed ones first (worst first), then the passed ones
     * @param reason   a sentence: what failed and by how much, or why it passes
     * @param learning the tasks the candidate is learning (more than {@code maxTaskDrop} above their best promoted
     *                 accuracy): the other tasks and the classes were not held to theirs
     */
    public record Verdict(boolean passed, List<PolicyCheck> checks, String reason, List<String> learning) {
        public Verdict {
            checks = List.copyOf(checks);
            learning = List.copyOf(learning);
        }

        /** The failed checks. */
        public List<PolicyCheck> failed() {
            return checks.stream().filter(c -> !c.getPassed()).toList();
        }
    }

    /**
     * Judges a candidate.
     *
     * @param candidate the candidate's evaluation
     * @param promoted  the promoted version's evaluation on the same held-out samples; empty before the first promotion
     * @param best      per task and class, the best accuracy reached under a promoted version (the promoted
     *                  version's on these samples included)
     */
    public Verdict judge(Evaluation candidate, Optional<Evaluation> promoted, BestAccuracy best) {
        List<PolicyCheck> checks = new ArrayList<>();
        List<String> learning = new ArrayList<>();
        checks.add(new PolicyCheck(CheckScope.SAMPLES, "", (double) candidate.getSamples(), (double) minSamples, 0.0,
                candidate.getSamples() >= minSamples));
        if (candidate.getSamples() >= minSamples) {
            if (minAccuracy > 0) {
                checks.add(check(CheckScope.OVERALL, "", candidate.getAccuracy(), minAccuracy, 0.0));
            }
            promoted.ifPresent(p -> checks.add(check(CheckScope.OVERALL, "", candidate.getAccuracy(), p.getAccuracy(), maxOverallDrop)));
            if (promoted.isPresent()) {
                learning.addAll(learning(candidate, best));
            }
            for (Map.Entry<String, GroupScore> e : new TreeMap<>(candidate.getByTask()).entrySet()) {
                Double top = best.byTask().get(e.getKey());
                if (e.getValue().getSamples() >= minSamples && top != null && (learning.isEmpty() || learning.contains(e.getKey()))) {
                    checks.add(check(CheckScope.TASK, e.getKey(), e.getValue().getAccuracy(), top, maxTaskDrop));
                }
            }
            for (Map.Entry<String, GroupScore> e : new TreeMap<>(candidate.getByClass()).entrySet()) {
                Double top = best.byClass().get(e.getKey());
                if (e.getValue().getSamples() >= minSamples && top != null && learning.isEmpty()) {
                    checks.add(check(CheckScope.CLASS, e.getKey(), e.getValue().getAccuracy(), top, maxClassDrop));
                }
            }
        }
        List<PolicyCheck> failed = checks.stream().filter(c -> !c.getPassed())
                .sorted(Comparator.comparingDouble(PromotionPolicy::excess).reversed()).toList();
        List<PolicyCheck> ordered = new ArrayList<>(failed);
        checks.stream().filter(PolicyCheck::getPassed).forEach(ordered::add);
        return new Verdict(failed.isEmpty(), ordered, reason(candidate, promoted, failed, learning, best), learning);
    }

    /** The tasks (with enough samples) on which the candidate is more than {@code maxTaskDrop} above its best promoted accuracy. */
    private List<String> learning(Evaluation candidate, BestAccuracy best) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, GroupScore> e : new TreeMap<>(candidate.getByTask()).entrySet()) {
            Double top = best.byTask().get(e.getKey());
            if (e.getValue().getSamples() >= minSamples && top != null && e.getValue().getAccuracy() > top + maxTaskDrop + 1e-9) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    private static PolicyCheck check(CheckScope scope, String key, double value, double reference, double maxDrop) {
        // a little slack for floating point: 0.9 - 0.1 must admit 0.8
        return new PolicyCheck(scope, key, value, reference, maxDrop, value >= reference - maxDrop - 1e-9);
    }

    /** How far a failed check is past its limit. */
    private static double excess(PolicyCheck c) {
        return c.getScope() == CheckScope.SAMPLES ? Double.MAX_VALUE : c.getReference() - c.getMaxDrop() - c.getCandidate();
    }

    private String reason(Evaluation candidate, Optional<Evaluation> promoted, List<PolicyCheck> failed, List<String> learning,
                          BestAccuracy best) {
        String against = promoted.map(p -> "version " + p.getVersion()).orElse("no promoted version");
        if (failed.isEmpty() && !learning.isEmpty()) {
            List<String> gains = new ArrayList<>();
            for (String t : learning) {
                gains.add(String.format(Locale.ROOT, "task %s %s, %s above its best promoted %s", t.isEmpty() ? "(none)" : t,
                        pct(candidate.getByTask().get(t).getAccuracy()),
                        points(candidate.getByTask().get(t).getAccuracy() - best.byTask().get(t)), pct(best.byTask().get(t))));
            }
            return String.format(Locale.ROOT, "version %d passes: it is learning (%s), which may cost the other tasks and "
                            + "classes; accuracy %s on %d held-out samples (%s%s); the best accuracies start again from it",
                    candidate.getVersion(), String.join("; ", gains), pct(candidate.getAccuracy()), candidate.getSamples(), against,
                    promoted.map(p -> ": " + pct(p.getAccuracy())).orElse(""));
        }
        if (failed.isEmpty()) {
            return String.format(Locale.ROOT, "version %d passes: accuracy %s on %d held-out samples (%s%s); no task more than "
                            + "%s and no class more than %s below its best promoted accuracy",
                    candidate.getVersion(), pct(candidate.getAccuracy()), candidate.getSamples(), against,
                    promoted.map(p -> ": " + pct(p.getAccuracy())).orElse(""), points(maxTaskDrop), points(maxClassDrop));
        }
        List<String> parts = new ArrayList<>();
        for (PolicyCheck c : failed) {
            parts.add(describe(c, promoted));
        }
        return String.format(Locale.ROOT, "version %d refused: %s", candidate.getVersion(), String.join("; ", parts));
    }

    private String describe(PolicyCheck c, Optional<Evaluation> promoted) {
        String promotedName = promoted.map(p -> "version " + p.getVersion()).orElse("the promoted version");
        return switch (c.getScope()) {
            case SAMPLES -> String.format(Locale.ROOT, "only %d held-out samples, %d needed to judge (send EVAL samples, or "
                    + "lower minSamples)", (long) c.getCandidate(), (long) c.getReference());
            case OVERALL -> c.getMaxDrop() == 0.0
                    ? String.format(Locale.ROOT, "accuracy %s is below the floor of %s", pct(c.getCandidate()), pct(c.getReference()))
                    : String.format(Locale.ROOT, "accuracy %s is %s below %s's %s (at most %s allowed)", pct(c.getCandidate()),
                    points(c.getReference() - c.getCandidate()), promotedName, pct(c.getReference()), points(c.getMaxDrop()));
            case TASK -> String.format(Locale.ROOT, "task %s %s is %s below its best promoted %s (at most %s allowed)",
                    c.getKey().isEmpty() ? "(none)" : c.getKey(), pct(c.getCandidate()), points(c.getReference() - c.getCandidate()),
                    pct(c.getReference()), points(c.getMaxDrop()));
            case CLASS -> String.format(Locale.ROOT, "class %s %s is %s below its best promoted %s (at most %s allowed)", c.getKey(),
                    pct(c.getCandidate()), points(c.getReference() - c.getCandidate()), pct(c.getReference()),
                    points(c.getMaxDrop()));
        };
    }

    static String pct(double fraction) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }

    static String points(double fraction) {
        return String.format(Locale.ROOT, "%.1f points", 100 * fraction);
    }
}
