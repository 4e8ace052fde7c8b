package io.rehearsal.models.release;

import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.Release;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;

/**
 * HMAC-SHA256 of a {@link Promotion}'s decisive fields, with the snapshot signing key ({@link SnapshotSigner}),
 * hex-encoded into {@code Promotion.signature}.
 *
 * <p>The signed text is UTF-8, one {@code field=value} line each, {@code \n} after every line:
 * {@code rehearsal-promotion-signature-v1}, modelId, sequence, action, candidateVersion, promotedVersion,
 * promotedSnapshot.sha256 (hex SHA-256 of the embedded snapshot's bytes; empty when none), pinned
 * ({@code true}/{@code false}), latestVersion, rollbackTargets ({@code version:sha256} of each target's
 * snapshot bytes, comma-separated, in order), actor.sha256, reason.sha256, commandId.sha256 (hex SHA-256 of
 * the UTF-8 text; commandId's empty when none) and time (epoch millis). So what is served, pinned and rolled
 * back to, by whom and why, cannot be altered; the evaluation, checks and policy are descriptive and not
 * signed (as a snapshot's metrics are not). The embedded snapshots carry the trainer's own signature, checked
 * too when they are loaded.
 */
public final class PromotionSigner {
    private final SnapshotSigner hmac;

    public PromotionSigner(String key) {
        this.hmac = new SnapshotSigner(key);
    }

    /** {@code promotion} with its signature set (the same object). */
    public Promotion sign(Promotion promotion) {
        promotion.setSignature(hmac.hmac(signedText(promotion)));
        return promotion;
    }

    /**
     * @throws SnapshotFormatException {@code UNSIGNED} or {@code BAD_SIGNATURE}, saying what to do
     */
    public void verify(Promotion p) {
        if (p.getSignature() == null) {
            throw new SnapshotFormatException(Reason.UNSIGNED, String.format("promotion %d of model %s is not signed, but "
                    + "this reader requires signed promotions; give the promoter the same key", p.getSequence(), p.getModelId()));
        }
        if (!hmac.matches(signedText(p), p.getSignature())) {
            throw new SnapshotFormatException(Reason.BAD_SIGNATURE, String.format("promotion %d of model %s has a signature "
                    + "that does not match its contents: it was altered or signed with another key; ignoring it",
                    p.getSequence(), p.getModelId()));
        }
    }

    static String signedText(Promotion p) {
        StringJoiner targets = new StringJoiner(",");
        for (Release r : p.getRollbackTargets()) {
            targets.add(r.getVersion() + ":" + sha256(r.getSnapshot()));
        }
        String text = String.join("\n",
                "rehearsal-promotion-signature-v1",
                "modelId=" + p.getModelId(),
                "sequence=" + p.getSequence(),
                "action=" + p.getAction(),
                "candidateVersion=" + p.getCandidateVersion(),
                "promotedVersion=" + p.getPromotedVersion(),
                "promotedSnapshot.sha256=" + (p.getPromotedSnapshot() == null ? "" : sha256(p.getPromotedSnapshot())),
                "pinned=" + p.getPinned(),
                "latestVersion=" + p.getLatestVersion(),
                "rollbackTargets=" + targets,
                "actor.sha256=" + sha256(p.getActor()),
                "reason.sha256=" + sha256(p.getReason()),
                "commandId.sha256=" + (p.getCommandId() == null ? "" : sha256(p.getCommandId())),
                "time=" + p.getTime().toEpochMilli());
        return text + "\n";
    }

    private static String sha256(ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return SnapshotCodec.sha256(out);
    }

    private static String sha256(String text) {
        return SnapshotCodec.sha256(text.getBytes(StandardCharsets.UTF_8));
    }
}
