package io.rehearsal.models.subscribe;

import io.rehearsal.models.release.PromotionSigner;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Promotion;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Follow#PROMOTED}: the promoter's decisions on the model-promotions topic. Each record states the
 * whole release state; the subscriber serves the snapshot it promotes (loading it from the releases topic,
 * verified as any snapshot is), newer or older than the one served (a rollback goes back). With a key, a
 * promotion whose signature does not verify is refused and the version served keeps serving. Records whose
 * sequence is not above the one applied are ignored.
 */
final class PromotionFeed implements Feed {
    private static final Logger LOG = LoggerFactory.getLogger(PromotionFeed.class);
    private final Topics topics;
    private final HotSwapModel model;
    private final ChunkSource chunks;
    private final Optional<PromotionSigner> verifier;
    private final AtomicReference<ReleaseState> state = new AtomicReference<>();
    private long sequence;

    PromotionFeed(Topics topics, HotSwapModel model, ChunkSource chunks, Optional<String> key) {
        this.topics = topics;
        this.model = model;
        this.chunks = chunks;
        this.verifier = key.map(PromotionSigner::new);
    }

    @Override
    public Topic<String, ?> topic() {
        return topics.promotions();
    }

    /** The release state of the newest promotion applied. */
    Optional<ReleaseState> state() {
        return Optional.ofNullable(state.get());
    }

    @Override
    public boolean apply(ConsumerRecord<byte[], byte[]> r, String where) {
        if (r.value() == null) {
            LOG.info("model {}: tombstone at {}: the model's promotions were deleted; version {} keeps serving",
                    model.modelId(), where, model.version());
            return false;
        }
        Promotion p;
        try {
            p = topics.promotions().deserializeValue(r.value());
        } catch (RuntimeException e) {
            model.refuse(-1, new SnapshotFormatException(Reason.MALFORMED, "the record at " + where
                    + " does not decode as a Promotion (" + e.getMessage() + "); was it written by a rehearsal promoter?", e),
                    "promotion");
            return false;
        }
        try {
            if (!model.modelId().equals(p.getModelId())) {
                throw new SnapshotFormatException(Reason.MALFORMED, where + " holds a promotion of model " + p.getModelId()
                        + ", not of " + model.modelId() + "; the record key and its content disagree");
            }
            verifier.ifPresent(v -> v.verify(p));
        } catch (SnapshotFormatException e) {
            model.refuse(p.getSequence(), e, "promotion");
            return false;
        }
        if (p.getSequence() <= sequence) {
            LOG.debug("model {}: ignoring promotion {} from {}: promotion {} is applied already", model.modelId(),
                    p.getSequence(), where, sequence);
            return false;
        }
        boolean served;
        if (p.getPromotedSnapshot() == null) {
            served = true; // nothing promoted yet: nothing to serve
        } else {
            ModelSnapshot snapshot;
            try {
                snapshot = ReleasedSnapshots.decode(p.getPromotedSnapshot());
            } catch (SnapshotFormatException e) {
                model.refuse(p.getSequence(), e, "promotion");
                return false;
            }
            served = model.serve(snapshot, chunks, where + " (promotion " + p.getSequence() + ", " + p.getAction() + ")");
        }
        if (served) {
            sequence = p.getSequence();
            ReleaseState s = ReleaseState.of(p);
            state.set(s);
            model.metrics().release(s);
        }
        return served;
    }
}
