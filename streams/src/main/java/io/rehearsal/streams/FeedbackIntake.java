package io.rehearsal.streams;

import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.DeadLetters;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.feedback.FeedbackRules;
import io.rehearsal.streams.feedback.PendingFeedback;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.buffer.SampleEntry;
import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * What the curator does with one record of the feedback topic: decode it; forward it to the shard of
 * its sample id if it was written elsewhere; refuse it if its sample was rejected; make it wait if its
 * sample has not arrived (bounded, with expiry); else apply it to the sample if it wins over the feedback
 * applied before ({@link FeedbackRules}): a LABEL corrects the sample (recalled first), a CONFIRM raises
 * its retention priority, a REJECT removes it and keeps its id out. See docs/curator.md.
 */
final class FeedbackIntake {
    /** Kind byte of rejection entries in the expiry index. */
    static final byte REJECTED_KIND = 'R';

    private final Shard shard;
    private final CuratorSettings settings;
    private final InputSerde<Feedback> serde = InputSerde.feedback();

    FeedbackIntake(Shard shard) {
        this.shard = shard;
        this.settings = shard.settings;
    }

    /**
     * @param src      the record, as read at its origin
     * @param rerouted whether it comes from the reroute topic (it is on its shard: never forwarded again)
     */
    void accept(Source src, boolean rerouted) {
        Feedback f;
        try {
            f = serde.decode(src.payload());
        } catch (RecordDecodeException e) {
            shard.dead(src, DeadLetters.undecodable(src, e, shard.out.now()), e.reason().name());
            return;
        }
        String kind = kind(f);
        String id = f.getSampleId();
        if (!rerouted && shard.belongsElsewhere(id)) {
            shard.reroute(src, Reroute.Input.FEEDBACK, id);
            return;
        }
        if (shard.stores.rejected().get(Keys.sample(id)) != null) {
            refuse(src, DeadLetterReason.SAMPLE_REJECTED, "feedback " + f.getKind() + " for sample " + id
                    + ": the sample was rejected by earlier feedback and cannot come back; send it again under a new id",
                    "rejected-sample", kind);
            return;
        }
        SampleEntry e = shard.memory.get(id);
        if (e == null) {
            park(f, src, kind);
            return;
        }
        ModelState ms = shard.memory.model(e.modelId());
        ModelContract contract = settings.contractOf(e.modelId());
        if (f.getKind() == FeedbackKind.LABEL && f.getLabel() >= contract.numClasses()) {
            refuse(src, DeadLetterReason.UNKNOWN_LABEL, unknownLabel(f, contract, e.modelId()), "invalid", kind);
            return;
        }
        long time = f.getEventTime().toEpochMilli();
        if (!FeedbackRules.supersedes(time, f.getTrust(), e.feedbackTime(), e.feedbackTrust())) {
            shard.metrics.feedback(kind, "superseded");
            return;
        }
        shard.memory.feedbackApplied(e, time, f.getTrust());
        switch (f.getKind()) {
            case LABEL -> {
                shard.memory.correct(e, ms, f.getLabel());
                shard.correctionsWaiting.putIfAbsent(ms.modelId, shard.out.now());
            }
            case CONFIRM -> shard.memory.confirm(e);
            case REJECT -> {
                shard.memory.remove(e, ms);
                keepOut(shard, id);
            }
        }
        shard.metrics.feedback(kind, "applied");
        shard.afterChange(ms);
    }

    /** Feedback for a sample not seen yet waits for it, bounded by pendingCapacity. */
    private void park(Feedback f, Source src, String kind) {
        int waiting = shard.counters().pendingFeedback();
        long expireAt = Math.max(shard.out.streamTime(), src.timestamp()) + settings.feedback().pendingExpiry().toMillis();
        PendingFeedback.ParkResult r = shard.pending.park(f, src, expireAt, waiting, settings.feedback().pendingCapacity());
        switch (r.parked()) {
            case WAITING -> {
                if (r.replaced() == null) {
                    shard.pendingChanged(+1);
                } else {
                    shard.metrics.feedback(kind(r.replaced().feedback()), "superseded");
                }
                shard.metrics.feedback(kind, "pending");
            }
            case SUPERSEDED -> shard.metrics.feedback(kind, "superseded");
            case FULL -> refuse(src, DeadLetterReason.FEEDBACK_OVERFLOW, String.format(
                    "feedback %s for unseen sample %s: %d feedback records already wait for their samples "
                            + "(pendingCapacity); send samples before their feedback or raise pendingCapacity",
                    f.getKind(), f.getSampleId(), waiting), "overflow", kind);
        }
    }

    private void refuse(Source src, DeadLetterReason reason, String message, String outcome, String kind) {
        shard.refuse(src, reason, message);
        shard.metrics.feedback(kind, outcome);
    }

    /** Keeps a REJECTed sample id out for rejectedRetention of stream time. */
    static void keepOut(Shard shard, String sampleId) {
        long expireAt = shard.out.streamTime() + shard.settings.feedback().rejectedRetention().toMillis();
        shard.stores.rejected().put(Keys.sample(sampleId), ByteBuffer.allocate(8).putLong(expireAt).array());
        shard.stores.expiry().put(Keys.expiry(expireAt, REJECTED_KIND, sampleId), new byte[0]);
    }

    static String kind(Feedback f) {
        return f.getKind().name().toLowerCase(Locale.ROOT);
    }

    static String unknownLabel(Feedback f, ModelContract contract, String modelId) {
        return String.format("LABEL feedback for sample %s: label %d is outside the model's classes 0..%d (model %s)",
                f.getSampleId(), f.getLabel(), contract.numClasses() - 1, modelId);
    }
}
