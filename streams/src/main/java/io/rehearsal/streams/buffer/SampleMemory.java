package io.rehearsal.streams.buffer;

import io.rehearsal.streams.recall.RecallPolicy;
import io.rehearsal.streams.recall.RecallSchedule;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.CuratorStores;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The samples one shard holds and where each lives: the fresh queue (not trained yet), the short-term
 * store (recent samples, labeled or not, bounded by count and age) and the long-term buffer. It keeps
 * the recall schedule consistent with them: after every change an entry is <em>settled</em>, which
 * gives it exactly the schedule entry its place calls for:
 *
 * <ul>
 *   <li>CORRECTION from a LABEL correction until its next recall;</li>
 *   <li>SHORT while it is in the short-term store, trained, labeled and recalled fewer than K_short
 *       times;</li>
 *   <li>else LONG while it is in the long-term buffer;</li>
 *   <li>else none; an entry held nowhere is deleted.</li>
 * </ul>
 *
 * A sample leaves the short-term schedule after its K_short-th recall, or when the short-term store
 * evicts it; either way it is then offered once to the long-term buffer (the hand-over).
 *
 * <p>Every entry records where it lives (its fresh-queue and arrival sequence numbers, its tier and due
 * step), so the orders the curator walks (the fresh queue, the short-term arrival order, the recall
 * schedule) are <em>indexes</em> of the {@code curator-samples} store: they are kept in memory, rebuilt
 * from that store when the shard starts and updated with every entry written. Only the entries (and
 * features, long-term slots, counters) are stored and changelogged: an index in a store of its own
 * doubled the writes per visit, and scanning it in RocksDB stepped over the deleted keys every visit
 * leaves behind.
 */
public final class SampleMemory {
    private static final Logger LOG = LoggerFactory.getLogger(SampleMemory.class);
    private final CuratorStores stores;
    private final ShardLimits limits;
    private final Consumer<SampleEntry> released;
    private final RecallPolicy policy;
    private final RecallSchedule schedule = new RecallSchedule();
    private final SampleEntries entries;
    private final LongTermBuffer longTerm;
    /** Per model: fresh sequence -> sample id (the fresh queue, oldest first). */
    private final Map<String, TreeMap<Long, String>> freshQueue = new HashMap<>();
    /** Per model: arrival sequence -> record time and id (the short-term store, oldest first). */
    private final Map<String, TreeMap<Long, Arrival>> shortTerm = new HashMap<>();
    /** Decoded model states (written through on every save). */
    private final Map<String, ModelState> models = new HashMap<>();
    /** The ids of the models with a stored state, read once from the store, then kept with every save. */
    private java.util.Set<String> modelIds;

    /** A sample in the short-term store's arrival order. */
    private record Arrival(long recordTime, String sampleId) {
    }

    /** Builds the in-memory indexes from the samples store (call once the stores are restored). */
    public SampleMemory(CuratorStores stores, ShardLimits limits, RecallPolicy policy) {
        this(stores, limits, policy, e -> { });
    }

    /**
     * @param released told of every sample the memory lets go (held nowhere any more): its features can go too
     */
    public SampleMemory(CuratorStores stores, ShardLimits limits, RecallPolicy policy, Consumer<SampleEntry> released) {
        this.released = released;
        this.stores = stores;
        this.limits = limits;
        this.policy = policy;
        long started = System.nanoTime();
        this.entries = new SampleEntries(stores.samples(), this::index);
        LOG.info("loaded and indexed {} sample entries in {} ms", entries.size(), (System.nanoTime() - started) / 1_000_000);
        this.longTerm = new LongTermBuffer(stores.longTerm(), entries, limits.longTermCapacity(), limits.seed());
    }

    private void index(SampleEntry e) {
        if (e.fresh()) {
            fresh(e.modelId()).put(e.freshSeq(), e.id());
        }
        if (e.inShortTerm()) {
            arrivals(e.modelId()).put(e.arrivalSeq(), new Arrival(e.recordTime(), e.id()));
        }
        if (e.scheduled()) {
            schedule.put(e.modelId(), Tier.of(e.tier()), e.due(), e.id(), e.label());
        }
    }

    private TreeMap<Long, String> fresh(String modelId) {
        return freshQueue.computeIfAbsent(modelId, m -> new TreeMap<>());
    }

    private TreeMap<Long, Arrival> arrivals(String modelId) {
        return shortTerm.computeIfAbsent(modelId, m -> new TreeMap<>());
    }

    public RecallSchedule schedule() {
        return schedule;
    }

    public LongTermBuffer longTerm() {
        return longTerm;
    }

    // ---- entries and model state ----

    public SampleEntry get(String sampleId) {
        return entries.get(sampleId);
    }

    /**
     * The model's state. The same object until the next {@link #save} of another copy: callers change it
     * and save it, as they would a freshly decoded one.
     */
    public ModelState model(String modelId) {
        ModelState cached = models.get(modelId);
        if (cached != null) {
            return cached;
        }
        byte[] bytes = stores.state().get(stateKey(modelId));
        ModelState ms = bytes == null ? new ModelState(modelId) : ModelState.decode(modelId, bytes);
        models.put(modelId, ms);
        return ms;
    }

    public void save(ModelState ms) {
        stores.state().put(stateKey(ms.modelId), ms.encode());
        models.put(ms.modelId, ms);
        modelIds().add(ms.modelId);
    }

    /** Whether this shard holds state for the model. */
    public boolean holdsModel(String modelId) {
        return modelIds().contains(modelId);
    }

    /** How many models this shard holds state for. */
    public int modelCount() {
        return modelIds().size();
    }

    private java.util.Set<String> modelIds() {
        if (modelIds == null) {
            modelIds = new java.util.HashSet<>(models());
        }
        return modelIds;
    }

    /** The models this shard has state for. */
    public List<String> models() {
        List<String> ids = new ArrayList<>();
        Bytes from = Bytes.wrap("m:".getBytes(StandardCharsets.UTF_8));
        Bytes to = Bytes.wrap("m;".getBytes(StandardCharsets.UTF_8));
        try (KeyValueIterator<Bytes, byte[]> it = stores.state().range(from, to)) {
            while (it.hasNext()) {
                String key = new String(it.next().key.get(), StandardCharsets.UTF_8);
                if (key.startsWith("m:")) {
                    ids.add(key.substring(2));
                }
            }
        }
        return ids;
    }

    private static Bytes stateKey(String modelId) {
        return Bytes.wrap(ModelState.key(modelId).getBytes(StandardCharsets.UTF_8));
    }

    // ---- arrival ----

    /** Admits a new sample to the short-term store, and to the fresh queue if it is labeled. */
    public void admit(SampleEntry e, ModelState ms) {
        e.arrived(ms.arrived());
        arrivals(ms.modelId).put(e.arrivalSeq(), new Arrival(e.recordTime(), e.id()));
        if (e.labeled()) {
            enqueueFresh(e, ms);
        }
        entries.put(e);
    }

    /** Puts a labeled, untrained sample at the back of the fresh queue. */
    public void enqueueFresh(SampleEntry e, ModelState ms) {
        e.queuedFresh(ms.queuedFresh(e.label()));
        fresh(ms.modelId).put(e.freshSeq(), e.id());
    }

    /** The ids of the first {@code n} fresh samples, oldest first, left on the queue. */
    public List<String> peekFresh(ModelState ms, int n) {
        List<String> out = new ArrayList<>(n);
        for (String id : fresh(ms.modelId).values()) {
            if (out.size() == n) {
                break;
            }
            out.add(id);
        }
        return out;
    }

    /**
     * Takes the first {@code n} fresh samples off the queue (those {@link #peekFresh} listed); they stay
     * marked fresh until visited.
     */
    public void takeFresh(ModelState ms, int n) {
        TreeMap<Long, String> queue = fresh(ms.modelId);
        int taken = 0;
        while (taken < n && !queue.isEmpty()) {
            queue.pollFirstEntry();
            taken++;
        }
        ms.freshLeft(taken);
    }

    // ---- visits ----

    /**
     * Records that {@code e} was trained at {@code step} (fresh, or as its next recall), schedules its
     * next recall, and hands it over to the long-term buffer once its short-term recalls are done.
     */
    public void visited(SampleEntry e, ModelState ms, long step) {
        e.visited(step);
        long due = policy.nextDue(step, e.recallCount(), ms.modelId, e.id());
        if (e.recallCount() >= limits.shortTermRecalls() && !e.offered() && e.labeled()) {
            handOver(e, ms);
        }
        settle(e, ms, due);
    }

    // ---- feedback ----

    /**
     * A LABEL correction. An unlabeled request becomes a fresh sample; an untrained one is simply
     * relabeled; a trained one keeps its place and its schedule (k kept), so its next recall, if it has one,
     * carries the new label: a member of the long-term buffer under its old label's class leaves that class
     * and is offered to its new class's reservoir like any sample, and a sample that is not a member is not
     * forced in. When the policy recalls corrections, a trained one is also recalled once with its new label
     * before any other recall (due now, not sooner than I_min after its last visit; protected from eviction
     * until then). Why neither is forced nor recalled by default: docs/curator.md.
     */
    public void correct(SampleEntry e, ModelState ms, int label) {
        boolean wasLabeled = e.labeled();
        e.relabeled(label);
        if (!wasLabeled) {
            enqueueFresh(e, ms);
            settle(e, ms, e.due());
            return;
        }
        if (e.fresh()) {
            ms.classSeen(label);
            settle(e, ms, e.due());
            return;
        }
        boolean leavesItsClass = e.inLongTerm() && e.slotClass() != label;
        if (leavesItsClass) {
            longTerm.remove(e, ms);
        }
        ms.classSeen(label);
        if (policy.recallsCorrections()) {
            e.markCorrected();
        }
        if (leavesItsClass) {
            settleAll(longTerm.offer(e, ms).evicted(), ms);
        }
        settle(e, ms, policy.recallsCorrections() ? policy.correctionDue(ms.step(), e.lastVisit()) : e.due());
    }

    /**
     * Feedback that waited for a sample which has just arrived, applied before it is admitted: a LABEL
     * ({@code label} not null) sets its label (version 1: it trains FRESH with it), a CONFIRM raises its
     * retention priority.
     */
    public void applyBeforeArrival(SampleEntry e, Integer label, long feedbackTime, float trust) {
        if (label != null) {
            e.relabeled(label);
        } else {
            e.confirmed();
        }
        feedbackApplied(e, feedbackTime, trust);
    }

    /**
     * Records the event time and trust of the feedback about to be applied to {@code e}, which later
     * feedback must beat ({@code FeedbackRules}); the entry is written by the change that follows.
     */
    public void feedbackApplied(SampleEntry e, long feedbackTime, float trust) {
        e.feedbackApplied(feedbackTime, trust);
    }

    /** A CONFIRM: one more unit of retention priority. */
    public void confirm(SampleEntry e) {
        e.confirmed();
        entries.put(e);
    }

    /** A REJECT: removes the sample from every queue, store and the schedule. */
    public void remove(SampleEntry e, ModelState ms) {
        if (e.fresh()) {
            if (fresh(ms.modelId).remove(e.freshSeq()) != null) {
                ms.freshLeft(1);
            }
            e.leftFreshQueue();
        }
        if (e.inShortTerm()) {
            arrivals(ms.modelId).remove(e.arrivalSeq());
            ms.leftShortTerm();
            e.leftShortTerm();
        }
        longTerm.remove(e, ms);
        settle(e, ms, e.due());
    }

    // ---- short-term bounds ----

    /**
     * Evicts the oldest samples of the short-term store while it holds more than its capacity or they are
     * older than the max age at {@code streamTime}. Untrained samples stay until trained. Evicted labeled
     * samples that have not been offered yet are handed over to the long-term buffer.
     */
    public void enforceShortTerm(ModelState ms, long streamTime) {
        int capacity = limits.shortTermCapacity();
        long oldest = streamTime - limits.shortTermMaxAge().toMillis();
        TreeMap<Long, Arrival> order = arrivals(ms.modelId);
        while (!order.isEmpty()) {
            Arrival a = order.firstEntry().getValue();
            if (ms.shortTermSize() <= capacity && a.recordTime() >= oldest) {
                return;
            }
            SampleEntry e = get(a.sampleId());
            if (e.fresh()) {
                return; // not trained yet: it stays, and so do the younger ones
            }
            order.pollFirstEntry();
            ms.leftShortTerm();
            e.leftShortTerm();
            if (e.labeled() && !e.offered()) {
                handOver(e, ms);
            }
            settle(e, ms, e.due());
        }
    }

    // ---- schedule consistency ----

    /** The tier an entry's place calls for, or null when it should not be scheduled. */
    public Tier tierOf(SampleEntry e) {
        if (e.fresh() || !e.labeled() || e.lastVisit() < 0) {
            return null;
        }
        if (e.correctionPending() && (e.inShortTerm() || e.inLongTerm())) {
            return Tier.CORRECTION;
        }
        if (e.inShortTerm() && e.recallCount() < limits.shortTermRecalls()) {
            return Tier.SHORT;
        }
        return e.inLongTerm() ? Tier.LONG : null;
    }

    /**
     * Gives {@code e} the schedule entry its place calls for (due at {@code due} if scheduled), then
     * writes it, or deletes it when it is held nowhere.
     */
    public void settle(SampleEntry e, ModelState ms, long due) {
        Tier tier = tierOf(e);
        if (e.scheduled()) {
            schedule.delete(ms.modelId, Tier.of(e.tier()), e.due(), e.id());
        }
        if (tier != null) {
            schedule.put(ms.modelId, tier, due, e.id(), e.label());
            e.scheduled(tier.code(), due);
        } else {
            e.unscheduled();
        }
        if (e.held()) {
            entries.put(e);
        } else {
            entries.delete(e.id());
            released.accept(e);
        }
    }

    private void handOver(SampleEntry e, ModelState ms) {
        settleAll(longTerm.offer(e, ms).evicted(), ms);
    }

    private void settleAll(List<SampleEntry> evicted, ModelState ms) {
        for (SampleEntry v : evicted) {
            settle(v, ms, v.due());
        }
    }

}
