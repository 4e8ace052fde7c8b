package io.rehearsal.models.release;

import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's release state as one promotion record states it: the version services serve, whether it is
 * pinned, the newest candidate, and how long promotion has been held back.
 *
 * @param modelId            the model
 * @param sequence           the record's sequence (1, 2, ... per model)
 * @param action             the decision that produced it
 * @param candidateVersion   the version the decision was about
 * @param promotedVersion    the version services serve (0: none promoted yet)
 * @param pinned             whether an operator holds the promoted version
 * @param latestVersion      the newest candidate the promoter had seen
 * @param heldBackSince      since when candidates newer than the promoted version were refused or held
 * @param candidatesHeldBack how many were, since the last promotion
 * @param actor              who decided
 * @param reason             why
 * @param time               when
 */
public record ReleaseState(String modelId, long sequence, PromotionAction action, long candidateVersion,
                           long promotedVersion, boolean pinned, long latestVersion, Optional<Instant> heldBackSince,
                           int candidatesHeldBack, String actor, String reason, Instant time) {
    public ReleaseState {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(heldBackSince, "heldBackSince");
    }

    /** The state a promotion record states. */
    public static ReleaseState of(Promotion p) {
        return new ReleaseState(p.getModelId(), p.getSequence(), p.getAction(), p.getCandidateVersion(),
                p.getPromotedVersion(), p.getPinned(), p.getLatestVersion(), Optional.ofNullable(p.getHeldBackSince()),
                p.getCandidatesHeldBack(), p.getActor(), p.getReason(), p.getTime());
    }

    /** How long promotion has been held back at {@code now} (zero when it is not). */
    public Duration heldBackFor(Instant now) {
        return heldBackSince.map(since -> Duration.between(since, now)).filter(d -> !d.isNegative()).orElse(Duration.ZERO);
    }

    /** Candidate versions newer than the promoted one. */
    public long versionsBehind() {
        return Math.max(0, latestVersion - promotedVersion);
    }
}
