package io.rehearsal.streams;

import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.feedback.PendingFeedback;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;

/**
 * What a shard does as time passes, with no record arriving. Stream time (record timestamps, every
 * second): feedback that waited too long for its sample expires, rejections end, old samples leave the
 * short-term store. Wall clock: a partial batch goes out when fresh samples waited {@code linger}, a replay
 * batch when corrected samples did, and replay-only batches every {@code idleReplay} while idle.
 */
final class ShardTimers {
    static final Duration EXPIRY_TICK = Duration.ofSeconds(1);

    private final Shard shard;
    private final CuratorSettings settings;

    ShardTimers(Shard shard) {
        this.shard = shard;
        this.settings = shard.settings;
    }

    void onStreamTime(long streamTime) {
        for (String id : PendingFeedback.expired(shard.stores.expiry(), streamTime, PendingFeedback.EXPIRY_KIND)) {
            PendingFeedback.Waiting w = shard.pending.take(id);
            if (w == null) {
                continue;
            }
            shard.pendingChanged(-1);
            Feedback f = w.feedback();
            shard.refuse(w.source(), DeadLetterReason.FEEDBACK_EXPIRED, String.format(
                    "feedback %s for sample %s waited %s (pendingExpiry) but the sample never arrived on this shard; "
                            + "check the sample id and that feedback is keyed by it", f.getKind(), id,
                    settings.feedback().pendingExpiry()));
            shard.metrics.feedback(FeedbackIntake.kind(f), "expired");
        }
        for (String id : PendingFeedback.expired(shard.stores.expiry(), streamTime, FeedbackIntake.REJECTED_KIND)) {
            byte[] v = shard.stores.rejected().delete(Keys.sample(id));
            if (v != null) {
                shard.stores.expiry().delete(Keys.expiry(ByteBuffer.wrap(v).getLong(), FeedbackIntake.REJECTED_KIND, id));
            }
        }
        for (String model : shard.memory.models()) {
            ModelState ms = shard.memory.model(model);
            int before = ms.shortTermSize();
            shard.memory.enforceShortTerm(ms, streamTime);
            if (ms.shortTermSize() != before) {
                shard.saveAndPublish(ms);
            }
        }
    }

    void onWallClock(long now) {
        long linger = settings.emission().linger().toMillis();
        long idle = settings.emission().idleReplay().toMillis();
        for (String model : shard.memory.models()) {
            ModelState ms = shard.memory.model(model);
            if (linger > 0 && ms.freshCount() > 0 && ms.freshSinceWall() >= 0 && now - ms.freshSinceWall() >= linger) {
                shard.emitNow(ms, false, now);
            } else if (linger > 0 && ms.freshCount() == 0 && correctionLingered(ms, now, linger)) {
                // a correction is trained within linger even when no fresh sample comes to carry it
                shard.emitNow(ms, true, now);
            } else if (idle > 0 && ms.freshCount() == 0 && (ms.lastBatchWall() < 0 || now - ms.lastBatchWall() >= idle)) {
                shard.emitNow(ms, true, now);
            }
        }
    }

    /**
     * Whether corrected samples of the model have waited for a batch at least {@code linger}. They wait in
     * the schedule (due now, or I_min after their last visit), and a replay batch advances the step that
     * makes them due: once they have waited linger, replay batches follow tick after tick until every
     * correction is trained (at most about I_min of them), so the last correction waits linger plus a few
     * ticks, not one linger per batch.
     */
    private boolean correctionLingered(ModelState ms, long now, long linger) {
        if (shard.memory.schedule().isEmpty(ms.modelId, Tier.CORRECTION)) {
            shard.correctionsWaiting.remove(ms.modelId);
            return false;
        }
        long since = shard.correctionsWaiting.computeIfAbsent(ms.modelId, m -> now);
        return now - since >= linger;
    }

    /** How often the wall-clock punctuation runs: a quarter of the shortest wall-clock setting, 10 ms to 1 s. */
    static Duration wallClockTick(CuratorSettings s) {
        long shortest = Long.MAX_VALUE;
        for (Duration d : List.of(s.emission().linger(), s.emission().idleReplay())) {
            if (!d.isZero()) {
                shortest = Math.min(shortest, d.toMillis());
            }
        }
        return shortest == Long.MAX_VALUE ? null : Duration.ofMillis(Math.max(10, Math.min(1000, shortest / 4)));
    }
}
