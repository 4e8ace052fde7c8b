package io.rehearsal.streams;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.streams.buffer.EvalSet;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.DeadLetters;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.feedback.PendingFeedback;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.buffer.SampleEntry;
import java.util.Locale;

/**
 * What the curator does with one record of the samples topic. In order: decode it; refuse it if its model
 * is not one the curator trains, its shape or label does not fit the model, or its features could never
 * fit in a batch; forward it to the shard of its sample id if it was written elsewhere; refuse it if a
 * REJECT keeps it out or its id is held already; else a labeled TRAIN sample enters the short-term store
 * and the fresh queue (with any feedback that waited for it applied first), an unlabeled one the
 * short-term store, an EVAL sample the eval set. See docs/curator.md.
 */
final class SampleIntake {
    private final Shard shard;
    private final CuratorSettings settings;
    private final InputSerde<Sample> serde = InputSerde.samples();

    SampleIntake(Shard shard) {
        this.shard = shard;
        this.settings = shard.settings;
    }

    /**
     * @param src      the record, as read at its origin
     * @param rerouted whether it comes from the reroute topic (it is on its shard: never forwarded again)
     */
    void accept(Source src, boolean rerouted) {
        if (!rerouted) {
            shard.sampleRead(src.offset());
            shard.inputLag(shard.out.now() - src.timestamp());
        }
        Sample s;
        try {
            s = serde.decode(src.payload());
        } catch (RecordDecodeException e) {
            shard.dead(src, DeadLetters.undecodable(src, e, shard.out.now()), e.reason().name());
            return;
        }
        ModelContract contract = settings.contractOf(s.getModelId());
        if (contract == null) {
            shard.refuse(src, DeadLetterReason.UNKNOWN_MODEL, String.format("sample %s is for model '%s', which this "
                    + "curator does not train (it takes %s); check the producer's modelId, or start the curator with that "
                    + "--model-id", s.getId(), s.getModelId(), settings.knownModels()));
            return;
        }
        if (!fits(src, s, contract)) {
            return;
        }
        if (!rerouted && shard.belongsElsewhere(s.getId())) {
            shard.reroute(src, Reroute.Input.SAMPLES, s.getId());
            return;
        }
        if (settings.models().acceptAny() && !shard.memory.holdsModel(s.getModelId())
                && shard.memory.modelCount() >= settings.models().maxModels()) {
            shard.refuse(src, DeadLetterReason.UNKNOWN_MODEL, String.format("sample %s is for model '%s', a new model id, "
                    + "but this shard already holds %d models (maxModels); name the models the curator should train "
                    + "(--model-id) instead of accepting any", s.getId(), s.getModelId(), settings.models().maxModels()));
            return;
        }
        if (shard.stores.rejected().get(Keys.sample(s.getId())) != null) {
            shard.refuse(src, DeadLetterReason.SAMPLE_REJECTED, "sample " + s.getId()
                    + " was rejected by feedback and is kept out; send it under a new id if it should train");
            return;
        }
        if (shard.memory.get(s.getId()) != null) {
            shard.refuse(src, DeadLetterReason.DUPLICATE_SAMPLE, "sample " + s.getId()
                    + " is already held by the curator; sample ids must be unique (a producer retry without idempotence?)");
            return;
        }
        ModelState ms = shard.memory.model(s.getModelId());
        SampleEntry e = SampleEntry.of(s, src.partition(), src.offset(), src.timestamp());
        if (s.getSplit() == Split.EVAL) {
            holdOut(src, s, e, ms);
            return;
        }
        PendingFeedback.Waiting waiting = shard.pending.take(e.id());
        if (waiting != null) {
            shard.pendingChanged(-1);
            if (!applyWaiting(e, waiting, src, contract)) {
                return;
            }
        }
        shard.memory.admit(e, ms);
        shard.admitted(s, src);
        shard.metrics.sample(ms.modelId, e.labeled() ? "train" : "request");
        shard.memory.enforceShortTerm(ms, shard.out.streamTime());
        shard.afterChange(ms);
    }

    /** Whether the sample fits its model (shape, label) and a batch (size); if not, it is refused. */
    private boolean fits(Source src, Sample s, ModelContract contract) {
        long size = FeatureTensor.elements(s.getFeatures());
        if (size != contract.inputSize()) {
            shard.refuse(src, DeadLetterReason.SHAPE_MISMATCH, String.format(
                    "sample %s: feature length %d (shape %s) does not match the model's input %d (shape %s, model %s); "
                            + "check the producer's shape", s.getId(), size, s.getFeatures().getShape(),
                    contract.inputSize(), contract.inputShape(), s.getModelId()));
            return false;
        }
        if (s.getLabel() != null && s.getLabel() >= contract.numClasses()) {
            shard.refuse(src, DeadLetterReason.UNKNOWN_LABEL, String.format(
                    "sample %s: label %d is outside the model's classes 0..%d (model %s); check the producer's labels",
                    s.getId(), s.getLabel(), contract.numClasses() - 1, s.getModelId()));
            return false;
        }
        int dataBytes = s.getFeatures().getData().remaining();
        long recordBytes = featuresRecordBytes(dataBytes, s.getFeatures().getShape().size(), s.getId(), s.getModelId());
        int limit = shard.topics.features().maxMessageBytes();
        if (recordBytes > limit - RECORD_MARGIN_BYTES) {
            String features = shard.topics.features().name();
            shard.refuse(src, DeadLetterReason.SAMPLE_TOO_LARGE, String.format("sample %s: its features take %,d bytes "
                            + "(shape %s, %s), but %s takes records of at most %,d bytes (max.message.bytes), so the trainer "
                            + "could never read them; send smaller inputs (uint8 instead of float32, or downscaled) or raise "
                            + "max.message.bytes of %s", s.getId(), dataBytes, s.getFeatures().getShape(),
                    s.getFeatures().getDtype(), features, limit, features));
            return false;
        }
        return true;
    }

    private void holdOut(Source src, Sample s, SampleEntry e, ModelState ms) {
        if (s.getLabel() == null) {
            shard.refuse(src, DeadLetterReason.MISSING_LABEL, "EVAL sample " + s.getId()
                    + " has no label; held-out samples need one to be evaluated against");
            return;
        }
        EvalSet.Offer offer = shard.evalSet.offer(e, ms);
        if (offer.kept()) {
            shard.admitted(s, src);
        }
        if (offer.replaced() != null) {
            shard.released(offer.replaced(), ms.modelId);
        }
        shard.metrics.sample(ms.modelId, "eval");
        shard.saveAndPublish(ms);
    }

    /** Room left under the features topic's limit: the record's and the batch's headers. */
    static final int RECORD_MARGIN_BYTES = 1024;

    /** An upper bound of an encoded {@code SampleFeatures} record with these features and ids. */
    static long featuresRecordBytes(int dataBytes, int dims, String sampleId, String modelId) {
        return 64 + 5L * dims + dataBytes + 3L * (sampleId.length() + modelId.length());
    }

    /** Applies feedback that waited for {@code e}; false if it rejected the sample. */
    private boolean applyWaiting(SampleEntry e, PendingFeedback.Waiting waiting, Source src, ModelContract contract) {
        Feedback f = waiting.feedback();
        String kind = f.getKind().name().toLowerCase(Locale.ROOT);
        if (f.getKind() == FeedbackKind.REJECT) {
            FeedbackIntake.keepOut(shard, e.id());
            shard.metrics.feedback(kind, "applied");
            shard.refuse(src, DeadLetterReason.SAMPLE_REJECTED, "sample " + e.id()
                    + " was rejected by feedback that arrived before it; it is kept out");
            return false;
        }
        if (f.getKind() == FeedbackKind.LABEL && f.getLabel() >= contract.numClasses()) {
            shard.refuse(waiting.source(), DeadLetterReason.UNKNOWN_LABEL, FeedbackIntake.unknownLabel(f, contract, e.modelId()));
            shard.metrics.feedback(kind, "invalid");
            return true;
        }
        shard.memory.applyBeforeArrival(e, f.getKind() == FeedbackKind.LABEL ? f.getLabel() : null,
                f.getEventTime().toEpochMilli(), f.getTrust());
        shard.metrics.feedback(kind, "applied");
        return true;
    }
}
