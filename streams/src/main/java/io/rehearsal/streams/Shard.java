package io.rehearsal.streams;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.streams.buffer.EvalSet;
import io.rehearsal.streams.buffer.SampleEntry;
import io.rehearsal.streams.buffer.SampleMemory;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.DeadLetters;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.feedback.PendingFeedback;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.state.CuratorStores;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.state.ShardState;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;

/**
 * The curator of one shard (one partition of the co-partitioned inputs): its memory, eval set, waiting
 * feedback and batch assembler over the shard's stores, and what every handler of the shard does alike
 * (emit the batches a change made ready, refuse a record with a dead letter, keep the gauges). The
 * handlers ({@link SampleIntake}, {@link FeedbackIntake}, {@link ShardTimers}) decide; this does.
 */
final class Shard {
    private static final Bytes SHARD_KEY = Bytes.wrap(ShardState.KEY.getBytes(StandardCharsets.UTF_8));

    final int id;
    final CuratorSettings settings;
    final Topics topics;
    final CuratorMetrics metrics;
    final CuratorStores stores;
    final SampleMemory memory;
    final EvalSet evalSet;
    final PendingFeedback pending;
    final BatchAssembler assembler;
    final ShardOutputs out;
    /**
     * Per model: wall-clock time since corrected samples wait for a batch (see {@link ShardTimers}). Kept in
     * memory: after a restart the wait starts again.
     */
    final Map<String, Long> correctionsWaiting = new HashMap<>();
    /** The shard's counters, decoded once and written through on every change. */
    private ShardState counters;
    /**
     * Overload: whether the last sample read lagged the wall clock by more than {@code freshOnlyLag}, so batches are
     * composed of fresh samples only (in memory: a wall-clock decision, made again from the next record).
     */
    private boolean freshOnly;

    Shard(int id, CuratorSettings settings, Topics topics, CuratorMetrics metrics, CuratorStores stores, ShardOutputs out) {
        this.id = id;
        this.settings = settings;
        this.topics = topics;
        this.metrics = metrics;
        this.stores = stores;
        this.out = out;
        this.counters = ShardState.decode(stores.state().get(SHARD_KEY));
        this.memory = new SampleMemory(stores, settings.shardLimits(), settings.recallPolicy(), this::released);
        this.evalSet = new EvalSet(stores.eval(), settings.shardEvalCapacityPerClass(), settings.seed());
        this.pending = new PendingFeedback(stores.pending(), stores.expiry());
        this.assembler = new BatchAssembler(settings, memory, evalSet, metrics, id);
    }

    /** Reports every model's gauges and the waiting feedback (when the shard starts). */
    void publishAll() {
        for (String model : memory.models()) {
            publish(memory.model(model));
        }
        metrics.pendingFeedback(id, counters.pendingFeedback());
    }

    ShardState counters() {
        return counters;
    }

    /** Records a read of the shard's samples partition at {@code offset}. */
    void sampleRead(long offset) {
        save(counters.read(offset));
    }

    /** Records {@code delta} more (or fewer) feedback records waiting for their samples. */
    void pendingChanged(int delta) {
        if (delta != 0) {
            save(counters.pending(delta));
            metrics.pendingFeedback(id, counters.pendingFeedback());
        }
    }

    private void save(ShardState s) {
        stores.state().put(SHARD_KEY, s.encode());
        counters = s;
    }

    /**
     * A sample was read {@code lagMillis} after its record's timestamp: past {@code freshOnlyLag} the shard composes
     * fresh-only batches (the curator is behind its input), below it normal ones again.
     */
    void inputLag(long lagMillis) {
        long bound = settings.emission().freshOnlyLag().toMillis();
        freshOnly = bound > 0 && lagMillis > bound;
    }

    /** After a change to a model: emits every full batch, notes when fresh samples started waiting, saves. */
    void afterChange(ModelState ms) {
        long now = out.now();
        // behind its input, the shard waits for a batch of fresh samples only: G of them instead of F, no recalls
        int full = freshOnly ? settings.groups() : settings.freshGroups();
        while (ms.freshCount() >= full) {
            int waiting = ms.freshCount();
            out.batches(assembler.next(ms, false, freshOnly, now, counters.highestSampleOffset()), now);
            if (ms.freshCount() >= waiting) {
                throw new IllegalStateException("model " + ms.modelId + ": " + waiting
                        + " fresh samples counted but none could be taken from the fresh queue; the state is inconsistent");
            }
        }
        ms.freshWaiting(now);
        saveAndPublish(ms);
    }

    /** Emits a batch that does not wait for fresh samples (linger, a correction, idle replay); false if none. */
    boolean emitNow(ModelState ms, boolean replayOnly, long now) {
        var batches = assembler.next(ms, replayOnly, false, now, counters.highestSampleOffset());
        if (batches.isEmpty()) {
            return false;
        }
        out.batches(batches, now);
        saveAndPublish(ms);
        return true;
    }

    void saveAndPublish(ModelState ms) {
        memory.save(ms);
        publish(ms);
    }

    /** Refuses an input record for one of the curator's reasons. */
    void refuse(Source src, DeadLetterReason reason, String message) {
        dead(src, DeadLetters.refused(src, reason, message, out.now()), reason.name());
    }

    void dead(Source src, DeadLetter letter, String reason) {
        metrics.deadLetter(reason);
        out.deadLetter(src.key(), letter, out.now());
    }

    /** The model's gauges: occupancy per class, short-term size, fresh samples waiting, eval set size. */
    void publish(ModelState ms) {
        for (int cls : ms.offeredClasses()) {
            metrics.occupancy(id, ms.modelId, cls, ms.occupancy(cls));
        }
        metrics.shortTermSize(id, ms.modelId, ms.shortTermSize());
        metrics.freshWaiting(id, ms.modelId, ms.freshCount());
        metrics.evalSetSize(id, ms.modelId, ms.evalSize());
    }

    /** Writes an admitted sample's features, once, to the features topic: batches name the sample from now on. */
    void admitted(Sample s, Source src) {
        out.features(s.getId(), new SampleFeatures(s.getId(), s.getModelId(), src.partition(), src.offset(), s.getFeatures()),
                new RecordHeaders(), src.timestamp());
        metrics.featuresWritten(s.getModelId(), s.getFeatures().getData().remaining());
    }

    /** A sample the curator let go: its features are tombstoned, with what a trainer needs to drop them safely. */
    void released(SampleEntry e) {
        released(e.id(), e.modelId());
    }

    /**
     * Tombstones {@code sampleId}'s features; its {@link Topics#RELEASED_AFTER_HEADER} is the sequence of the batch
     * being composed or, outside composition, the next one: a sample can be let go while the batch that names it
     * is composed (a hand-over to the long-term buffer evicts a member recalled in the same batch).
     */
    void released(String sampleId, String modelId) {
        RecordHeaders h = new RecordHeaders();
        h.add(Topics.RELEASED_BY_SHARD_HEADER, Integer.toString(id).getBytes(StandardCharsets.UTF_8));
        h.add(Topics.RELEASED_AFTER_HEADER, Long.toString(memory.model(modelId).lastSequence() + 1).getBytes(StandardCharsets.UTF_8));
        out.features(sampleId, null, h, out.now());
    }

    /** True when {@code sampleId} belongs to another shard: its record was written with another partitioner. */
    boolean belongsElsewhere(String sampleId) {
        return settings.inputPartitions() > 1 && Reroute.partitionOf(sampleId, settings.inputPartitions()) != id;
    }

    /** Forwards an input record to the shard of its sample id through the reroute topic. */
    void reroute(Source src, Reroute.Input input, String sampleId) {
        metrics.rerouted(input.tag);
        out.reroute(src, input, sampleId);
    }
}
