package io.rehearsal.models.promote;

import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.Release;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A model's release state and how each decision changes it, without Kafka: which version is promoted (and
 * its released snapshot), whether it is pinned, the versions kept for a rollback, the best accuracy each
 * task reached under a promoted version, and since when promotion is held back. Immutable: every decision
 * returns a {@link Step}, the promotion record that states the new state and the ledger that holds it, so the
 * promoter adopts the new state only once the record is committed.
 */
final class ReleaseLedger {
    /** The component that decides automatically, as the promotion records name it. */
    static final String PROMOTER = "promoter";
    private static final AvroSerde<Promotion> SERDE = AvroSerde.of(Promotion.class);
    /** Room left for the signature in a record's size budget. */
    private static final int SIGNATURE_ROOM = 256;

    /** A promoted version: its released snapshot and when it was promoted. */
    record Released(long version, ModelSnapshot snapshot, Instant promotedTime) {
        Released {
            Objects.requireNonNull(snapshot, "snapshot");
            if (snapshot.getVersion() != version) {
                throw new IllegalArgumentException("a released snapshot of version " + snapshot.getVersion()
                        + " cannot stand for version " + version);
            }
        }
    }

    /**
     * One decision: the record that states it, the ledger after it, and the released versions it let go
     * (neither served nor a rollback target any more: their released chunks can be tombstoned).
     */
    record Step(Promotion record, ReleaseLedger next, List<Released> dropped) {
    }

    private final String modelId;
    private final PromotionPolicy policy;
    private final int keep;
    private final int maxRecordBytes;
    private final long sequence;
    private final Optional<Released> promoted;
    private final boolean pinned;
    private final long latestVersion;
    private final Optional<Instant> heldBackSince;
    private final int heldBack;
    private final BestAccuracy best;
    private final List<Released> rollback;
    private long lastJudged;

    private ReleaseLedger(String modelId, PromotionPolicy policy, int keep, int maxRecordBytes, long sequence,
                          Optional<Released> promoted, boolean pinned, long latestVersion, Optional<Instant> heldBackSince,
                          int heldBack, BestAccuracy best, List<Released> rollback) {
        this.modelId = modelId;
        this.policy = policy;
        this.keep = keep;
        this.maxRecordBytes = maxRecordBytes;
        this.sequence = sequence;
        this.promoted = promoted;
        this.pinned = pinned;
        this.latestVersion = latestVersion;
        this.heldBackSince = heldBackSince;
        this.heldBack = heldBack;
        this.best = best;
        this.rollback = List.copyOf(rollback);
    }

    /**
     * A model nothing was promoted for yet.
     *
     * @param keep           how many earlier promoted versions are kept for a rollback
     * @param maxRecordBytes the largest promotion record the topic takes
     */
    static ReleaseLedger fresh(String modelId, PromotionPolicy policy, int keep, int maxRecordBytes) {
        return new ReleaseLedger(modelId, policy, keep, maxRecordBytes, 0, Optional.empty(), false, 0, Optional.empty(), 0,
                BestAccuracy.none(), List.of());
    }

    /** The state the newest promotion record states (a restarted promoter resumes from it). */
    static ReleaseLedger restore(Promotion p, PromotionPolicy policy, int keep, int maxRecordBytes) {
        ReleaseLedger l = restoreState(p, policy, keep, maxRecordBytes);
        boolean automatic = p.getAction() == PromotionAction.PROMOTED || p.getAction() == PromotionAction.REFUSED
                || p.getAction() == PromotionAction.HELD;
        l.lastJudged = automatic ? p.getCandidateVersion() : 0;
        return l;
    }

    /**
     * The newest candidate the promoter judged before it restarted, as its last record says (0 when the last
     * record answered a command): a restarted promoter does not judge it again.
     */
    long lastJudged() {
        return lastJudged;
    }

    private static ReleaseLedger restoreState(Promotion p, PromotionPolicy policy, int keep, int maxRecordBytes) {
        Optional<Released> promoted = ReleasedSnapshots.promoted(p)
                .map(s -> new Released(p.getPromotedVersion(), s, p.getTime()));
        List<Released> rollback = new ArrayList<>();
        for (Release r : p.getRollbackTargets()) {
            rollback.add(new Released(r.getVersion(), ReleasedSnapshots.decode(r.getSnapshot()), r.getPromotedTime()));
        }
        return new ReleaseLedger(p.getModelId(), policy, keep, maxRecordBytes, p.getSequence(), promoted, p.getPinned(),
                p.getLatestVersion(), Optional.ofNullable(p.getHeldBackSince()), p.getCandidatesHeldBack(),
                new BestAccuracy(p.getBestTaskAccuracy(), p.getBestClassAccuracy()), rollback);
    }

    String modelId() {
        return modelId;
    }

    long sequence() {
        return sequence;
    }

    Optional<Released> promoted() {
        return promoted;
    }

    long promotedVersion() {
        return promoted.map(Released::version).orElse(0L);
    }

    boolean pinned() {
        return pinned;
    }

    long latestVersion() {
        return latestVersion;
    }

    Optional<Instant> heldBackSince() {
        return heldBackSince;
    }

    BestAccuracy best() {
        return best;
    }

    List<Released> rollbackTargets() {
        return rollback;
    }

    PromotionPolicy policy() {
        return policy;
    }

    /** The ledger having seen a candidate of {@code version} (no record: the next one says so). */
    ReleaseLedger seen(long version) {
        if (version <= latestVersion) {
            return this;
        }
        return new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, promoted, pinned, version, heldBackSince,
                heldBack, best, rollback);
    }

    /**
     * What the policy says of a candidate, held to the best promoted accuracy of each task and class, which the
     * promoted version's evaluation on the same samples ({@code baseline}) may raise.
     */
    PromotionPolicy.Verdict assess(Evaluation candidate, Optional<Evaluation> baseline) {
        return policy.judge(candidate, baseline, bestWith(baseline));
    }

    /**
     * Decides on an evaluated candidate: PROMOTED when the verdict passed and the model is not pinned (then
     * {@code released} is served), else REFUSED (the verdict failed) or HELD (it passed, but the model is pinned).
     *
     * @param released the candidate as released (its weights copied): needed when it is promoted
     */
    Step decide(Evaluation candidate, Optional<Evaluation> baseline, PromotionPolicy.Verdict verdict,
                Optional<Released> released, Instant now) {
        BestAccuracy known = bestWith(baseline);
        ReleaseLedger seen = seen(candidate.getVersion());
        if (verdict.passed() && !pinned) {
            Released next = released.orElseThrow(() -> new IllegalArgumentException(
                    "promoting version " + candidate.getVersion() + " needs its released snapshot"));
            // a candidate that learned a task paid for it on the others: they are held to its level from now on
            BestAccuracy after = verdict.learning().isEmpty() ? known.raisedBy(candidate, policy.minSamples())
                    : BestAccuracy.none().raisedBy(candidate, policy.minSamples());
            return seen.replace(PromotionAction.PROMOTED, next, pinned, after, candidate,
                    baseline, verdict,
                    PROMOTER, verdict.reason(), null, now);
        }
        PromotionAction action = verdict.passed() ? PromotionAction.HELD : PromotionAction.REFUSED;
        String reason = verdict.passed() ? verdict.reason() + "; not promoted: version " + promotedVersion()
                + " is pinned (unpin it to let candidates through)" : verdict.reason();
        ReleaseLedger held = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, promoted, pinned,
                seen.latestVersion, Optional.of(heldBackSince.orElse(now)), heldBack + 1, known, rollback);
        return held.record(action, candidate.getVersion(), candidate, baseline, verdict, PROMOTER, reason, null, now, List.of());
    }

    /** A candidate that cannot even be loaded (a bad signature, a missing chunk...): refused, saying why. */
    Step unloadable(long version, String why, Instant now) {
        ReleaseLedger held = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, promoted, pinned,
                Math.max(latestVersion, version), Optional.of(heldBackSince.orElse(now)), heldBack + 1, best, rollback);
        return held.record(PromotionAction.REFUSED, version, null, Optional.empty(), null, PROMOTER,
                "version " + version + " refused: it cannot be loaded (" + why + ")", null, now, List.of());
    }

    /**
     * An operator's promotion of {@code target}, whatever the policy says. The best task accuracies start
     * again from it: the operator accepted its level.
     */
    Step promoteByHand(Released target, String actor, String reason, String commandId, Instant now) {
        return replace(PromotionAction.PROMOTED_BY_HAND, target, pinned, BestAccuracy.none(), null, Optional.empty(), null, actor,
                reason, commandId, now);
    }

    /** An operator's pin: of the promoted version, or of {@code target} (promoted first). */
    Step pin(Optional<Released> target, String actor, String reason, String commandId, Instant now) {
        if (target.isPresent() && target.get().version() != promotedVersion()) {
            return replace(PromotionAction.PINNED, target.get(), true, BestAccuracy.none(), null, Optional.empty(), null, actor, reason,
                    commandId, now);
        }
        if (promoted.isEmpty()) {
            return reject(0, actor, "nothing is promoted yet, so there is nothing to pin; name a version", commandId, now);
        }
        ReleaseLedger next = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, promoted, true, latestVersion,
                heldBackSince, heldBack, best, rollback);
        return next.record(PromotionAction.PINNED, promotedVersion(), null, Optional.empty(), null, actor, reason, commandId,
                now, List.of());
    }

    /** An operator's unpin: candidates that pass the policy are promoted again. */
    Step unpin(String actor, String reason, String commandId, Instant now) {
        ReleaseLedger next = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, promoted, false, latestVersion,
                heldBackSince, heldBack, best, rollback);
        return next.record(PromotionAction.UNPINNED, promotedVersion(), null, Optional.empty(), null, actor, reason,
                commandId, now, List.of());
    }

    /**
     * An operator's rollback to the version promoted before the served one (or to {@code version}, one of the
     * rollback targets). The model is pinned there: unpin it to let the policy promote again. Versions newer
     * than the target are let go.
     */
    Step rollback(Optional<Long> version, String actor, String reason, String commandId, Instant now) {
        int at = -1;
        for (int i = 0; i < rollback.size() && at < 0; i++) {
            if (version.isEmpty() || rollback.get(i).version() == version.get()) {
                at = i;
            }
        }
        if (at < 0) {
            return reject(version.orElse(0L), actor, rollback.isEmpty()
                    ? "there is no earlier promoted version to roll back to"
                    : "version " + version.get() + " is not a rollback target; the targets are "
                    + rollback.stream().map(r -> Long.toString(r.version())).toList(), commandId, now);
        }
        Released target = rollback.get(at);
        List<Released> dropped = new ArrayList<>();
        promoted.ifPresent(dropped::add);
        dropped.addAll(rollback.subList(0, at));
        ReleaseLedger next = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, Optional.of(target), true,
                latestVersion, Optional.empty(), 0, BestAccuracy.none(), rollback.subList(at + 1, rollback.size()));
        return next.record(PromotionAction.ROLLED_BACK, target.version(), null, Optional.empty(), null, actor,
                reason + " (pinned at version " + target.version() + "; unpin to let the policy promote again)",
                commandId, now, dropped);
    }

    /** A command that cannot be applied: recorded, nothing changes. */
    Step reject(long version, String actor, String why, String commandId, Instant now) {
        return record(PromotionAction.REJECTED, version, null, Optional.empty(), null, actor, why, commandId, now, List.of());
    }

    private Step replace(PromotionAction action, Released next, boolean pin, BestAccuracy known, Evaluation candidate,
                         Optional<Evaluation> baseline, PromotionPolicy.Verdict verdict, String actor, String reason,
                         String commandId, Instant now) {
        List<Released> kept = new ArrayList<>();
        promoted.filter(p -> p.version() != next.version()).ifPresent(kept::add);
        rollback.stream().filter(r -> r.version() != next.version()).forEach(kept::add);
        List<Released> dropped = new ArrayList<>();
        while (kept.size() > keep) {
            dropped.add(kept.remove(kept.size() - 1));
        }
        Released stamped = new Released(next.version(), next.snapshot(), now);
        ReleaseLedger after = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence, Optional.of(stamped), pin,
                Math.max(latestVersion, next.version()), Optional.empty(), 0, known, kept);
        return after.record(action, next.version(), candidate, baseline, verdict, actor, reason, commandId, now, dropped);
    }

    private BestAccuracy bestWith(Optional<Evaluation> baseline) {
        return baseline.map(b -> best.raisedBy(b, policy.minSamples())).orElse(best);
    }

    /**
     * The record of this ledger's state as decided by {@code action}, one sequence number on; rollback targets are
     * let go, oldest first, while the record would not fit the topic.
     */
    private Step record(PromotionAction action, long candidateVersion, Evaluation candidate, Optional<Evaluation> baseline,
                        PromotionPolicy.Verdict verdict, String actor, String reason, String commandId, Instant now,
                        List<Released> dropped) {
        List<Released> targets = new ArrayList<>(rollback);
        List<Released> letGo = new ArrayList<>(dropped);
        while (true) {
            Promotion p = Promotion.newBuilder()
                    .setModelId(modelId)
                    .setSequence(sequence + 1)
                    .setAction(action)
                    .setCandidateVersion(candidateVersion)
                    .setPromotedVersion(promotedVersion())
                    .setPromotedSnapshot(promoted.map(r -> ReleasedSnapshots.encode(r.snapshot())).orElse(null))
                    .setPinned(pinned)
                    .setLatestVersion(Math.max(latestVersion, candidateVersion))
                    .setHeldBackSince(heldBackSince.orElse(null))
                    .setCandidatesHeldBack(heldBack)
                    .setEvaluation(candidate)
                    .setBaseline(baseline.orElse(null))
                    .setChecks(verdict == null ? List.of() : verdict.checks())
                    .setPolicy(policy.describe())
                    .setBestTaskAccuracy(new TreeMap<>(best.byTask()))
                    .setBestClassAccuracy(new TreeMap<>(best.byClass()))
                    .setRollbackTargets(targets.stream().map(r -> new Release(r.version(), ReleasedSnapshots.encode(r.snapshot()),
                            r.promotedTime())).toList())
                    .setActor(actor)
                    .setReason(reason)
                    .setCommandId(commandId)
                    .setTime(Instant.ofEpochMilli(now.toEpochMilli()))
                    .build();
            if (targets.isEmpty() || SERDE.encode(p).length + SIGNATURE_ROOM <= maxRecordBytes) {
                ReleaseLedger next = new ReleaseLedger(modelId, policy, keep, maxRecordBytes, sequence + 1, promoted, pinned,
                        Math.max(latestVersion, candidateVersion), heldBackSince, heldBack, best, targets);
                return new Step(p, next, List.copyOf(letGo));
            }
            letGo.add(targets.remove(targets.size() - 1));
        }
    }
}
