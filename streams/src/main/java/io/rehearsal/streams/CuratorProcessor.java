package io.rehearsal.streams;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.buffer.EvalSet;
import io.rehearsal.streams.buffer.SampleMemory;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.DeadLetters;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.feedback.FeedbackRules;
import io.rehearsal.streams.feedback.PendingFeedback;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.recall.RecallPolicy;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.CuratorStores;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.state.SampleEntry;
import io.rehearsal.streams.state.ShardState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The curator of one shard (one partition of the co-partitioned samples and feedback topics). Reads
 * both inputs as bytes and decodes them itself, so every bad record becomes a dead letter in the same
 * transaction instead of stopping the stream. See {@link CuratorTopology} for the wiring and
 * docs/curator.md for the rules.
 *
 * <ul>
 *   <li>A labeled TRAIN sample enters the short-term store and the fresh queue; a full batch is emitted
 *       as soon as ceil(rho_new * G) fresh samples wait.</li>
 *   <li>An unlabeled sample (a prediction request) is kept in the short-term store for feedback only.</li>
 *   <li>An EVAL sample goes to the eval set.</li>
 *   <li>Feedback applies to the sample it names, or waits for it (bounded, with expiry).</li>
 *   <li>Punctuations: stream time (every second) expires waiting feedback, rejections and old short-term
 *       samples; wall clock emits lingering partial batches and, if enabled, idle replay-only batches.</li>
 * </ul>
 */
final class CuratorProcessor implements Processor<byte[], byte[], Object, Object> {
    private static final byte REJECTED_KIND = 'R';
    private static final Duration EXPIRY_TICK = Duration.ofSeconds(1);
    /** Room left under the batch topic's limit: Kafka's record and batch headers, lz4's worst-case growth. */
    static final int BATCH_MARGIN_BYTES = 64 << 10;

    private final CuratorSettings settings;
    private final Topics topics;
    private final CuratorMetrics metrics;
    private final InputSerde<Sample> sampleSerde = InputSerde.samples();
    private final InputSerde<Feedback> feedbackSerde = InputSerde.feedback();

    private ProcessorContext<Object, Object> context;
    private CuratorStores stores;
    private SampleMemory memory;
    private EvalSet evalSet;
    private PendingFeedback pending;
    private BatchAssembler assembler;
    private int shard;
    /** Per model: wall-clock time since corrections wait for a batch (see {@link #correctionLingered}). */
    private final Map<String, Long> correctionsWaiting = new HashMap<>();
    /** The shard's counters, decoded once in {@link #init} and written through on every change. */
    private ShardState shardState;

    CuratorProcessor(CuratorSettings settings, Topics topics, CuratorMetrics metrics) {
        this.settings = settings;
        this.topics = topics;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.shard = context.taskId().partition();
        this.stores = CuratorStores.from(context);
        this.shardState = ShardState.decode(stores.state().get(SHARD_KEY));
        this.memory = new SampleMemory(stores, settings.shardLimits(), settings.recallPolicy());
        this.evalSet = new EvalSet(stores.eval(), settings.shardEvalCapacityPerClass(), settings.seed());
        this.pending = new PendingFeedback(stores.pending(), stores.expiry());
        this.assembler = new BatchAssembler(settings, memory, evalSet, metrics, shard,
                CuratorTopology.maxRecordBytes(topics) - BATCH_MARGIN_BYTES);
        context.schedule(EXPIRY_TICK, PunctuationType.STREAM_TIME, this::onStreamTime);
        Duration tick = wallClockTick(settings);
        if (tick != null) {
            context.schedule(tick, PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
        }
        for (String model : memory.models()) {
            publish(memory.model(model));
        }
        metrics.pendingFeedback(shard, shard().pendingFeedback);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        Source read = new Source(meta.topic(), meta.partition(), meta.offset(), record.key(), record.value(), record.timestamp());
        if (meta.topic().equals(topics.samples().name())) {
            onSample(read, false);
        } else if (meta.topic().equals(topics.feedback().name())) {
            onFeedback(read, false);
        } else {
            onRerouted(read, record.headers());
        }
    }

    @Override
    public void close() {
        metrics.shardClosed(shard);
    }

    // ---- samples ----

    /**
     * A record the curator itself forwarded from the partition it was written to: processed here, on the
     * shard of its sample id, as if read at its origin (which its dead letters name).
     */
    private void onRerouted(Source read, Headers headers) {
        Optional<Reroute.Origin> origin = Reroute.origin(headers);
        if (origin.isEmpty()) {
            refuse(read, DeadLetterReason.UNKNOWN_ORIGIN, "record on " + read.topic() + " has no origin headers ("
                    + Reroute.INPUT_HEADER + ", ...): the curator writes this topic itself; produce samples to "
                    + topics.samples().name() + " and feedback to " + topics.feedback().name());
            return;
        }
        Reroute.Origin o = origin.get();
        Source src = new Source(o.topic(), o.partition(), o.offset(), read.key(), read.payload(), read.timestamp());
        if (o.input() == Reroute.Input.SAMPLES) {
            onSample(src, true);
        } else {
            onFeedback(src, true);
        }
    }

    /** True when {@code sampleId} belongs to another shard: its record was written with another partitioner. */
    private boolean belongsElsewhere(String sampleId) {
        return settings.inputPartitions() > 1 && Reroute.partitionOf(sampleId, settings.inputPartitions()) != shard;
    }

    /** Forwards an input record, bytes untouched, to the shard of its sample id through the reroute topic. */
    private void reroute(Source src, Reroute.Input input, String sampleId) {
        metrics.rerouted(input.tag);
        context.forward(new Record<Object, Object>(sampleId.getBytes(StandardCharsets.UTF_8), src.payload(), src.timestamp(),
                Reroute.headers(input, src)), CuratorTopology.REROUTE_SINK);
    }

    private void onSample(Source src, boolean rerouted) {
        if (!rerouted) {
            ShardState shardState = shard();
            shardState.highestSampleOffset = Math.max(shardState.highestSampleOffset, src.offset());
            saveShard(shardState);
        }
        ShardState shardState = shard();
        Sample s;
        try {
            s = sampleSerde.decode(src.payload());
        } catch (RecordDecodeException e) {
            dead(src, DeadLetters.undecodable(src, e, now()), e.reason().name());
            return;
        }
        ModelContract contract = settings.contractOf(s.getModelId());
        if (contract == null) {
            refuse(src, DeadLetterReason.UNKNOWN_MODEL, String.format("sample %s is for model '%s', which this curator "
                            + "does not train (it takes %s); check the producer's modelId, or start the curator with that "
                            + "--model-id", s.getId(), s.getModelId(), settings.knownModels()));
            return;
        }
        long size = FeatureTensor.elements(s.getFeatures());
        if (size != contract.inputSize()) {
            refuse(src, DeadLetterReason.SHAPE_MISMATCH, String.format(
                    "sample %s: feature length %d (shape %s) does not match the model's input %d (shape %s, model %s); "
                            + "check the producer's shape", s.getId(), size, s.getFeatures().getShape(),
                    contract.inputSize(), contract.inputShape(), s.getModelId()));
            return;
        }
        if (s.getLabel() != null && s.getLabel() >= contract.numClasses()) {
            refuse(src, DeadLetterReason.UNKNOWN_LABEL, String.format(
                    "sample %s: label %d is outside the model's classes 0..%d (model %s); check the producer's labels",
                    s.getId(), s.getLabel(), contract.numClasses() - 1, s.getModelId()));
            return;
        }
        int dataBytes = s.getFeatures().getData().remaining();
        long itemBytes = BatchAssembler.itemBytes(dataBytes, s.getFeatures().getShape().size(), s.getId(), s.getTask());
        if (!assembler.fits(itemBytes)) {
            refuse(src, DeadLetterReason.SAMPLE_TOO_LARGE, String.format("sample %s: its features take %,d bytes (shape %s, "
                            + "%s), but a training batch carries at most %,d bytes of items (%s's max.message.bytes, %,d, less "
                            + "overhead), so it could never be trained; send smaller inputs (uint8 instead of float32, or "
                            + "downscaled) or raise the limit of %s and the curator's changelogs", s.getId(), dataBytes,
                    s.getFeatures().getShape(), s.getFeatures().getDtype(), assembler.itemBudget(), topics.trainBatches().name(),
                    topics.trainBatches().maxMessageBytes(), topics.trainBatches().name()));
            return;
        }
        if (!rerouted && belongsElsewhere(s.getId())) {
            reroute(src, Reroute.Input.SAMPLES, s.getId());
            return;
        }
        if (settings.models().acceptAny() && !memory.holdsModel(s.getModelId()) && memory.modelCount() >= settings.models().maxModels()) {
            refuse(src, DeadLetterReason.UNKNOWN_MODEL, String.format("sample %s is for model '%s', a new model id, but "
                            + "this shard already holds %d models (maxModels); name the models the curator should train "
                            + "(--model-id) instead of accepting any", s.getId(), s.getModelId(), settings.models().maxModels()));
            return;
        }
        if (stores.rejected().get(Keys.sample(s.getId())) != null) {
            refuse(src, DeadLetterReason.SAMPLE_REJECTED, "sample " + s.getId()
                    + " was rejected by feedback and is kept out; send it under a new id if it should train");
            return;
        }
        if (memory.get(s.getId()) != null) {
            refuse(src, DeadLetterReason.DUPLICATE_SAMPLE, "sample " + s.getId()
                    + " is already held by the curator; sample ids must be unique (a producer retry without idempotence?)");
            return;
        }
        ModelState ms = memory.model(s.getModelId());
        SampleEntry e = SampleEntry.of(s, src.partition(), src.offset(), src.timestamp());
        if (s.getSplit() == Split.EVAL) {
            if (s.getLabel() == null) {
                refuse(src, DeadLetterReason.MISSING_LABEL, "EVAL sample " + s.getId()
                        + " has no label; held-out samples need one to be evaluated against");
                return;
            }
            evalSet.offer(e, ms);
            metrics.sample(ms.modelId, "eval");
            memory.save(ms);
            publish(ms);
            return;
        }
        PendingFeedback.Waiting waiting = pending.take(e.id);
        if (waiting != null) {
            shardState.pendingFeedback--;
            saveShard(shardState);
            metrics.pendingFeedback(shard, shardState.pendingFeedback);
            if (!applyBeforeArrival(e, waiting, src, contract)) {
                return;
            }
        }
        memory.admit(e, ms);
        metrics.sample(ms.modelId, e.labeled() ? "train" : "request");
        memory.enforceShortTerm(ms, streamTime());
        afterChange(ms);
    }

    /** Applies feedback that waited for {@code e}; false if it rejected the sample. */
    private boolean applyBeforeArrival(SampleEntry e, PendingFeedback.Waiting waiting, Source src, ModelContract contract) {
        Feedback f = waiting.feedback();
        String kind = kind(f);
        if (f.getKind() == FeedbackKind.REJECT) {
            reject(e.id);
            metrics.feedback(kind, "applied");
            refuse(src, DeadLetterReason.SAMPLE_REJECTED, "sample " + e.id
                    + " was rejected by feedback that arrived before it; it is kept out");
            return false;
        }
        if (f.getKind() == FeedbackKind.LABEL && f.getLabel() >= contract.numClasses()) {
            refuse(waiting.source(), DeadLetterReason.UNKNOWN_LABEL, unknownLabel(f, contract, e.modelId), "invalid", kind);
            return true;
        }
        if (f.getKind() == FeedbackKind.LABEL) {
            e.label = f.getLabel();
            e.labelVersion++;
        } else {
            e.priority++;
        }
        e.feedbackTime = f.getEventTime().toEpochMilli();
        e.feedbackTrust = f.getTrust();
        metrics.feedback(kind, "applied");
        return true;
    }

    // ---- feedback ----

    private void onFeedback(Source src, boolean rerouted) {
        Feedback f;
        try {
            f = feedbackSerde.decode(src.payload());
        } catch (RecordDecodeException e) {
            dead(src, DeadLetters.undecodable(src, e, now()), e.reason().name());
            return;
        }
        String kind = kind(f);
        String id = f.getSampleId();
        if (!rerouted && belongsElsewhere(id)) {
            reroute(src, Reroute.Input.FEEDBACK, id);
            return;
        }
        if (stores.rejected().get(Keys.sample(id)) != null) {
            refuse(src, DeadLetterReason.SAMPLE_REJECTED, "feedback " + f.getKind() + " for sample " + id
                    + ": the sample was rejected by earlier feedback and cannot come back; send it again under a new id",
                    "rejected-sample", kind);
            return;
        }
        SampleEntry e = memory.get(id);
        if (e == null) {
            park(f, src, kind);
            return;
        }
        ModelState ms = memory.model(e.modelId);
        ModelContract contract = settings.contractOf(e.modelId);
        if (f.getKind() == FeedbackKind.LABEL && f.getLabel() >= contract.numClasses()) {
            refuse(src, DeadLetterReason.UNKNOWN_LABEL, unknownLabel(f, contract, e.modelId), "invalid", kind);
            return;
        }
        long time = f.getEventTime().toEpochMilli();
        if (!FeedbackRules.supersedes(time, f.getTrust(), e.feedbackTime, e.feedbackTrust)) {
            metrics.feedback(kind, "superseded");
            return;
        }
        e.feedbackTime = time;
        e.feedbackTrust = f.getTrust();
        switch (f.getKind()) {
            case LABEL -> {
                memory.correct(e, ms, f.getLabel());
                correctionsWaiting.putIfAbsent(ms.modelId, now());
            }
            case CONFIRM -> memory.confirm(e);
            case REJECT -> {
                memory.remove(e, ms);
                reject(id);
            }
        }
        metrics.feedback(kind, "applied");
        afterChange(ms);
    }

    private void park(Feedback f, Source src, String kind) {
        ShardState shardState = shard();
        long expireAt = Math.max(streamTime(), src.timestamp()) + settings.feedback().pendingExpiry().toMillis();
        PendingFeedback.ParkResult r = pending.park(f, src, expireAt, shardState.pendingFeedback, settings.feedback().pendingCapacity());
        switch (r.parked()) {
            case WAITING -> {
                if (r.replaced() == null) {
                    shardState.pendingFeedback++;
                    saveShard(shardState);
                    metrics.pendingFeedback(shard, shardState.pendingFeedback);
                } else {
                    metrics.feedback(kind(r.replaced().feedback()), "superseded");
                }
                metrics.feedback(kind, "pending");
            }
            case SUPERSEDED -> metrics.feedback(kind, "superseded");
            case FULL -> refuse(src, DeadLetterReason.FEEDBACK_OVERFLOW, String.format(
                    "feedback %s for unseen sample %s: %d feedback records already wait for their samples "
                            + "(pendingCapacity); send samples before their feedback or raise pendingCapacity",
                    f.getKind(), f.getSampleId(), shardState.pendingFeedback), "overflow", kind);
        }
    }

    private void reject(String sampleId) {
        long expireAt = streamTime() + settings.feedback().rejectedRetention().toMillis();
        stores.rejected().put(Keys.sample(sampleId), ByteBuffer.allocate(8).putLong(expireAt).array());
        stores.expiry().put(Keys.expiry(expireAt, REJECTED_KIND, sampleId), new byte[0]);
    }

    // ---- punctuations ----

    private void onStreamTime(long streamTime) {
        ShardState shardState = shard();
        for (String id : PendingFeedback.expired(stores.expiry(), streamTime, PendingFeedback.EXPIRY_KIND)) {
            PendingFeedback.Waiting w = pending.take(id);
            if (w == null) {
                continue;
            }
            shardState.pendingFeedback--;
            Feedback f = w.feedback();
            refuse(w.source(), DeadLetterReason.FEEDBACK_EXPIRED, String.format(
                    "feedback %s for sample %s waited %s (pendingExpiry) but the sample never arrived on this shard; "
                            + "check the sample id and that feedback is keyed by it", f.getKind(), id,
                    settings.feedback().pendingExpiry()), "expired", kind(f));
        }
        saveShard(shardState);
        metrics.pendingFeedback(shard, shardState.pendingFeedback);
        for (String id : PendingFeedback.expired(stores.expiry(), streamTime, REJECTED_KIND)) {
            byte[] v = stores.rejected().delete(Keys.sample(id));
            if (v != null) {
                stores.expiry().delete(Keys.expiry(ByteBuffer.wrap(v).getLong(), REJECTED_KIND, id));
            }
        }
        for (String model : memory.models()) {
            ModelState ms = memory.model(model);
            int before = ms.shortTermSize;
            memory.enforceShortTerm(ms, streamTime);
            if (ms.shortTermSize != before) {
                memory.save(ms);
                publish(ms);
            }
        }
    }

    private void onWallClock(long now) {
        for (String model : memory.models()) {
            ModelState ms = memory.model(model);
            List<TrainBatch> batches = List.of();
            long linger = settings.emission().linger().toMillis();
            long idle = settings.emission().idleReplay().toMillis();
            if (linger > 0 && ms.freshCount > 0 && ms.freshSinceWall >= 0 && now - ms.freshSinceWall >= linger) {
                batches = assembler.next(ms, false, now, shard().highestSampleOffset);
            } else if (linger > 0 && ms.freshCount == 0 && correctionLingered(ms, now, linger)) {
                // a correction is trained within linger even when no fresh sample comes to carry it
                batches = assembler.next(ms, true, now, shard().highestSampleOffset);
            } else if (idle > 0 && ms.freshCount == 0 && (ms.lastBatchWall < 0 || now - ms.lastBatchWall >= idle)) {
                batches = assembler.next(ms, true, now, shard().highestSampleOffset);
            }
            if (!batches.isEmpty()) {
                forward(batches, now);
                memory.save(ms);
                publish(ms);
            }
        }
    }

    /**
     * Whether corrected samples of the model have waited for a batch at least {@code linger} (wall clock).
     * They wait in the schedule (due now, or I_min after their last visit), and a replay batch advances the
     * step that makes them due. Kept in memory: after a restart the wait starts again.
     */
    private boolean correctionLingered(ModelState ms, long now, long linger) {
        if (memory.schedule().isEmpty(ms.modelId, Tier.CORRECTION)) {
            correctionsWaiting.remove(ms.modelId);
            return false;
        }
        long since = correctionsWaiting.computeIfAbsent(ms.modelId, m -> now);
        if (now - since < linger) {
            return false;
        }
        correctionsWaiting.remove(ms.modelId);
        return true;
    }

    // ---- helpers ----

    /** After a change to a model: emit every full batch, note when fresh samples started waiting, save. */
    private void afterChange(ModelState ms) {
        long now = now();
        while (ms.freshCount >= settings.freshGroups()) {
            int waiting = ms.freshCount;
            forward(assembler.next(ms, false, now, shard().highestSampleOffset), now);
            if (ms.freshCount >= waiting) {
                throw new IllegalStateException("model " + ms.modelId + ": " + waiting
                        + " fresh samples counted but none could be taken from the fresh queue; the state is inconsistent");
            }
        }
        if (ms.freshCount > 0 && ms.freshSinceWall < 0) {
            ms.freshSinceWall = now;
        }
        memory.save(ms);
        publish(ms);
    }

    private void forward(List<TrainBatch> batches, long now) {
        for (TrainBatch b : batches) {
            context.forward(new Record<Object, Object>(b.getModelId(), b, now), CuratorTopology.BATCHES_SINK);
        }
    }

    private void refuse(Source src, DeadLetterReason reason, String message) {
        dead(src, DeadLetters.refused(src, reason, message, now()), reason.name());
    }

    private void refuse(Source src, DeadLetterReason reason, String message, String outcome, String kind) {
        refuse(src, reason, message);
        metrics.feedback(kind, outcome);
    }

    private void dead(Source src, DeadLetter letter, String reason) {
        metrics.deadLetter(reason);
        context.forward(new Record<Object, Object>(io.rehearsal.schemas.DeadLetters.recordKey(src.key()), letter, now()),
                CuratorTopology.DEAD_LETTERS_SINK);
    }

    private void publish(ModelState ms) {
        for (int cls : ms.offers.keySet()) {
            metrics.occupancy(shard, ms.modelId, cls, ms.occupancy(cls));
        }
        metrics.shortTermSize(shard, ms.modelId, ms.shortTermSize);
        metrics.freshWaiting(shard, ms.modelId, ms.freshCount);
        metrics.evalSetSize(shard, ms.modelId, ms.evalSize());
    }

    private static final Bytes SHARD_KEY = Bytes.wrap(ShardState.KEY.getBytes(StandardCharsets.UTF_8));

    private ShardState shard() {
        return shardState;
    }

    private void saveShard(ShardState s) {
        stores.state().put(SHARD_KEY, s.encode());
        shardState = s;
    }

    private long now() {
        return context.currentSystemTimeMs();
    }

    private long streamTime() {
        return context.currentStreamTimeMs();
    }

    private static String kind(Feedback f) {
        return f.getKind().name().toLowerCase(Locale.ROOT);
    }

    private static String unknownLabel(Feedback f, ModelContract contract, String modelId) {
        return String.format("LABEL feedback for sample %s: label %d is outside the model's classes 0..%d (model %s)",
                f.getSampleId(), f.getLabel(), contract.numClasses() - 1, modelId);
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
