package io.rehearsal.streams;

import io.rehearsal.schemas.RecordDescription;
import io.rehearsal.streams.buffer.ShardLimits;
import io.rehearsal.streams.recall.RecallPolicy;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every knob of the curator, grouped by concern into records that validate themselves on construction.
 * Start from {@link #defaults()} and change what you need with the {@code opt*} copies:
 *
 * <pre>{@code
 * CuratorSettings s = CuratorSettings.defaults().optViews(1).optLongTermCapacity(200).optSeed(7);
 * }</pre>
 *
 * <p>Steps are training batches of one (model, shard). Capacities are totals per model; with
 * {@code inputPartitions} shards each shard holds {@code ceil(total / inputPartitions)} (see the
 * {@code shard*} methods). See docs/curator.md for how the settings shape the schedule; {@link #describe()}
 * lists them all, derived from the records themselves.
 *
 * @param batches         how a TRAIN batch is composed
 * @param memory          the short-term store and the long-term buffer
 * @param intervals       the recall intervals, in steps
 * @param emission        when partial and replay-only batches go out (wall clock)
 * @param evaluation      the held-out (EVAL) samples
 * @param feedback        feedback waiting for its sample, and rejections
 * @param models          the models the curator accepts, and their contracts
 * @param inputPartitions partitions of the samples topic: the shards, which split the capacities and route
 *                        records by sample id
 * @param seed            seeds reservoir sampling and interval jitter
 */
public record CuratorSettings(Batches batches, Memory memory, Intervals intervals, Emission emission, Evaluation evaluation,
                              FeedbackLimits feedback, Models models, int inputPartitions, long seed) {

    /** The model id accepted by {@link #defaults()}: the one producers get when they name none. */
    public static final String DEFAULT_MODEL_ID = "default";
    /** Model ids one shard holds at most when it accepts any. */
    public static final int DEFAULT_MAX_MODELS = 100;

    /**
     * How a TRAIN batch is composed.
     *
     * @param size          B: sample views per TRAIN batch
     * @param views         R: augmented views per view group (1 = plain experience replay); divides B
     * @param freshShare    rho_new: share of the G = B/R groups given to fresh samples, ceil(rho_new * G)
     * @param longTermShare share of the recall groups offered first to the long-term tier; capacity one tier
     *                      leaves unused goes to the other
     * @param fillRecalls   recall groups left after the due entries take the entries due soonest (never within
     *                      I_min), so every batch has G groups once memory holds enough: same compute per step
     */
    public record Batches(int size, int views, double freshShare, double longTermShare, boolean fillRecalls) {
        public Batches {
            require(size >= 1, "batchSize must be >= 1, got " + size);
            require(views >= 1, "views (R) must be >= 1, got " + views);
            require(size % views == 0, "batchSize " + size + " must be a multiple of views " + views
                    + " (a batch holds B/R view groups)");
            require(freshShare > 0 && freshShare <= 1, "freshShare must be in (0, 1], got " + freshShare);
            require(longTermShare >= 0 && longTermShare <= 1, "longTermShare must be in [0, 1], got " + longTermShare);
        }

        /** G = B / R view groups per batch. */
        public int groups() {
            return size / views;
        }

        /** ceil(rho_new * G) fresh groups per full batch. */
        public int freshGroups() {
            return (int) Math.min(groups(), Math.ceil(freshShare * groups() - 1e-9));
        }
    }

    /**
     * The two tiers of memory, per model (totals over the shards).
     *
     * @param longTermCapacity  M: class-balanced long-term buffer size (0 = none)
     * @param shortTermCapacity most recent samples kept in the short-term store
     * @param shortTermMaxAge   samples older than this (record time against stream time) leave the short-term store
     * @param shortTermRecalls  K_short: recalls from the short-term store before a sample is handed to the
     *                          long-term buffer (0 = single-pass online learning)
     */
    public record Memory(int longTermCapacity, int shortTermCapacity, Duration shortTermMaxAge, int shortTermRecalls) {
        public Memory {
            require(longTermCapacity >= 0, "longTermCapacity must be >= 0, got " + longTermCapacity);
            require(shortTermCapacity >= 1, "shortTermCapacity must be >= 1, got " + shortTermCapacity);
            require(positive(shortTermMaxAge), "shortTermMaxAge must be > 0, got " + shortTermMaxAge);
            require(shortTermRecalls >= 0, "shortTermRecalls (K_short) must be >= 0, got " + shortTermRecalls);
        }
    }

    /**
     * The recall intervals I_k = min(I_max, I_0 * g^k), in steps.
     *
     * @param growth g: 1 is the paper's fixed interval
     * @param base   I_0; 0 = auto, R * M / (rho_rep * B) per shard
     * @param max    I_max; 0 = auto, 4 * I_0
     * @param min    I_min: no sample is recalled again less than this many steps after its last visit
     * @param jitter relative jitter of each interval, uniform in +-jitter, seeded
     */
    public record Intervals(double growth, long base, long max, long min, double jitter) {
        public Intervals {
            require(growth >= 1 && Double.isFinite(growth), "intervalGrowth (g) must be >= 1, got " + growth);
            require(base >= 0, "baseInterval must be >= 0 (0 = auto), got " + base);
            require(max >= 0, "maxInterval must be >= 0 (0 = auto), got " + max);
            require(min >= 1, "minInterval must be >= 1, got " + min);
            require(jitter >= 0 && jitter < 1, "jitter must be in [0, 1), got " + jitter);
        }
    }

    /**
     * Batches that do not wait for a full set of fresh samples (wall clock).
     *
     * @param linger     emit a partial batch when the oldest waiting fresh sample (or a corrected sample) is this
     *                   old; zero = only full batches
     * @param idleReplay while no fresh sample waits, emit a replay-only batch of due recalls this often; zero = off
     * @param freshOnlyLag overload: while the shard's input lags the wall clock by more than this (a record's
     *                     timestamp against the time the curator reads it), TRAIN batches are composed of fresh
     *                     samples only, G of them, with no recall; zero = off
     */
    public record Emission(Duration linger, Duration idleReplay, Duration freshOnlyLag) {
        public Emission {
            require(linger != null && !linger.isNegative(), "linger must be >= 0, got " + linger);
            require(idleReplay != null && !idleReplay.isNegative(), "idleReplay must be >= 0, got " + idleReplay);
            require(freshOnlyLag != null && !freshOnlyLag.isNegative(), "freshOnlyLag must be >= 0, got " + freshOnlyLag);
        }

        public Emission(Duration linger, Duration idleReplay) {
            this(linger, idleReplay, Duration.ZERO);
        }
    }

    /**
     * Held-out samples.
     *
     * @param capacityPerClass EVAL samples kept per model and class
     * @param everySteps       emit the eval set as EVAL batches after every this many TRAIN batches; 0 = never
     */
    public record Evaluation(int capacityPerClass, long everySteps) {
        public Evaluation {
            require(capacityPerClass >= 0, "evalCapacityPerClass must be >= 0, got " + capacityPerClass);
            require(everySteps >= 0, "evalEverySteps must be >= 0, got " + everySteps);
        }
    }

    /**
     * Feedback that waits, and rejections.
     *
     * @param pendingCapacity   feedback waiting for its sample, per shard
     * @param pendingExpiry     feedback waiting longer than this (stream time) is dead-lettered
     * @param rejectedRetention how long a REJECTed sample id is kept out (stream time)
     * @param recallCorrections a LABEL correction of a trained sample gets a recall of its own, ahead of every
     *                          other recall; off by default: at 10% flipped labels corrected 1,000 samples late
     *                          that extra current-task visit cost old tasks more than it won (docs/curator.md)
     */
    public record FeedbackLimits(int pendingCapacity, Duration pendingExpiry, Duration rejectedRetention,
                                 boolean recallCorrections) {
        public FeedbackLimits {
            require(pendingCapacity >= 0, "pendingCapacity must be >= 0, got " + pendingCapacity);
            require(positive(pendingExpiry), "pendingExpiry must be > 0, got " + pendingExpiry);
            require(positive(rejectedRetention), "rejectedRetention must be > 0, got " + rejectedRetention);
        }
    }

    /**
     * The models the curator accepts.
     *
     * @param contract  the contract of the models in {@code ids}, and of any model id when {@code acceptAny}
     * @param contracts models with a contract of their own (accepted too)
     * @param ids       the model ids accepted with {@code contract}; samples for any other id (not in
     *                  {@code contracts}) are dead-lettered as UNKNOWN_MODEL
     * @param acceptAny accept samples for every model id (with {@code contract}), up to {@code maxModels} per
     *                  shard: for development; a typo in a producer's model id then trains a new model
     * @param maxModels with {@code acceptAny}: the most model ids one shard holds, so that producers cannot grow
     *                  the state and the metric labels without bound
     */
    public record Models(ModelContract contract, Map<String, ModelContract> contracts, Set<String> ids, boolean acceptAny,
                         int maxModels) {
        public Models {
            Objects.requireNonNull(contract, "contract");
            contracts = Map.copyOf(Objects.requireNonNull(contracts, "contracts"));
            ids = Set.copyOf(Objects.requireNonNull(ids, "modelIds"));
            require(maxModels >= 1, "maxModels must be >= 1, got " + maxModels);
            require(acceptAny || !ids.isEmpty() || !contracts.isEmpty(),
                    "the curator accepts no model: name at least one model id, or accept any");
        }

        /** The contract of one model, or null when it is not accepted. */
        public ModelContract contractOf(String modelId) {
            ModelContract own = contracts.get(modelId);
            if (own != null) {
                return own;
            }
            return acceptAny || ids.contains(modelId) ? contract : null;
        }

        /** The model ids accepted by name, sorted. */
        public SortedSet<String> known() {
            SortedSet<String> known = new TreeSet<>(ids);
            known.addAll(contracts.keySet());
            return known;
        }
    }

    public CuratorSettings {
        Objects.requireNonNull(batches, "batches");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(intervals, "intervals");
        Objects.requireNonNull(emission, "emission");
        Objects.requireNonNull(evaluation, "evaluation");
        Objects.requireNonNull(feedback, "feedback");
        Objects.requireNonNull(models, "models");
        require(inputPartitions >= 1, "inputPartitions must be >= 1, got " + inputPartitions);
        long i0 = resolveBase(batches, memory, intervals, inputPartitions);
        long imax = intervals.max() == 0 ? 4 * i0 : intervals.max();
        require(i0 >= intervals.min(), "baseInterval " + i0 + " must be >= minInterval " + intervals.min());
        require(imax >= i0, "maxInterval " + imax + " must be >= baseInterval " + i0);
    }

    /**
     * B = 128, R = 2, rho_new = 0.125 (8 fresh + 56 recall groups), long-term share 0.25, M = 2000,
     * short-term 20,000 samples or 1 hour, K_short = 1 (4 views per fresh sample), g = 1, I_0 auto, I_max auto,
     * I_min = 2, jitter 0.1, early fill on, linger 2 s, no idle replay, 50 eval samples per class every 200
     * steps, 10,000 pending feedback for 1 hour, rejections kept 7 days, one model, {@code default}, with the
     * Fashion-MNIST contract (no other model id accepted), 1 partition, seed 42. The schedule values are the
     * best found by the continual-learning benchmark's tuning (docs/benchmarks-cl.md).
     */
    public static CuratorSettings defaults() {
        return new CuratorSettings(
                new Batches(128, 2, 0.125, 0.25, true),
                new Memory(2000, 20_000, Duration.ofHours(1), 1),
                new Intervals(1.0, 0, 0, 2, 0.1),
                new Emission(Duration.ofSeconds(2), Duration.ZERO),
                new Evaluation(50, 200),
                new FeedbackLimits(10_000, Duration.ofHours(1), Duration.ofDays(7), false),
                new Models(ModelContract.fashionMnist(), Map.of(), Set.of(DEFAULT_MODEL_ID), false, DEFAULT_MAX_MODELS),
                1, 42L);
    }

    // ---- derived values ----

    /** G = B / R view groups per batch. */
    public int groups() {
        return batches.groups();
    }

    /** ceil(rho_new * G) fresh groups per full batch. */
    public int freshGroups() {
        return batches.freshGroups();
    }

    /** G minus the fresh groups: the recall capacity of a full batch. */
    public int recallGroups() {
        return groups() - freshGroups();
    }

    /** I_0 in steps, resolved when 0 (auto). */
    public long resolvedBaseInterval() {
        return resolveBase(batches, memory, intervals, inputPartitions);
    }

    /** I_max in steps, resolved when 0 (auto). */
    public long resolvedMaxInterval() {
        return intervals.max() == 0 ? 4 * resolvedBaseInterval() : intervals.max();
    }

    /** Long-term capacity of one shard. */
    public int shardLongTermCapacity() {
        return perShard(memory.longTermCapacity());
    }

    /** Short-term capacity of one shard. */
    public int shardShortTermCapacity() {
        return Math.max(1, perShard(memory.shortTermCapacity()));
    }

    /** Eval samples per class in one shard. */
    public int shardEvalCapacityPerClass() {
        return perShard(evaluation.capacityPerClass());
    }

    /** What one shard's memory holds: the capacities split over the shards. */
    public ShardLimits shardLimits() {
        return new ShardLimits(shardLongTermCapacity(), shardShortTermCapacity(), memory.shortTermMaxAge(),
                memory.shortTermRecalls(), seed);
    }

    /** The recall rules these settings give: the resolved intervals and the seed. */
    public RecallPolicy recallPolicy() {
        return new RecallPolicy(resolvedBaseInterval(), resolvedMaxInterval(), intervals.min(), intervals.growth(),
                intervals.jitter(), seed, feedback.recallCorrections());
    }

    /** The contract of one model, or null when the curator does not accept the model id. */
    public ModelContract contractOf(String modelId) {
        return models.contractOf(modelId);
    }

    /** The model ids accepted by name (with the shared contract or their own), sorted. */
    public SortedSet<String> knownModels() {
        return models.known();
    }

    /**
     * The settings as strings, for logs and provenance: every component ({@code batches.views}, ...) and the
     * resolved intervals.
     */
    public Map<String, String> describe() {
        Map<String, String> m = new TreeMap<>(RecordDescription.of(this));
        m.put("intervals.resolvedBase", Long.toString(resolvedBaseInterval()));
        m.put("intervals.resolvedMax", Long.toString(resolvedMaxInterval()));
        return m;
    }

    // ---- copies ----

    public CuratorSettings optBatchSize(int v) {
        Batches b = batches;
        return withBatches(new Batches(v, b.views(), b.freshShare(), b.longTermShare(), b.fillRecalls()));
    }

    public CuratorSettings optViews(int v) {
        Batches b = batches;
        return withBatches(new Batches(b.size(), v, b.freshShare(), b.longTermShare(), b.fillRecalls()));
    }

    public CuratorSettings optFreshShare(double v) {
        Batches b = batches;
        return withBatches(new Batches(b.size(), b.views(), v, b.longTermShare(), b.fillRecalls()));
    }

    public CuratorSettings optLongTermShare(double v) {
        Batches b = batches;
        return withBatches(new Batches(b.size(), b.views(), b.freshShare(), v, b.fillRecalls()));
    }

    public CuratorSettings optFillRecalls(boolean v) {
        Batches b = batches;
        return withBatches(new Batches(b.size(), b.views(), b.freshShare(), b.longTermShare(), v));
    }

    public CuratorSettings optLongTermCapacity(int v) {
        Memory m = memory;
        return withMemory(new Memory(v, m.shortTermCapacity(), m.shortTermMaxAge(), m.shortTermRecalls()));
    }

    public CuratorSettings optShortTermCapacity(int v) {
        Memory m = memory;
        return withMemory(new Memory(m.longTermCapacity(), v, m.shortTermMaxAge(), m.shortTermRecalls()));
    }

    public CuratorSettings optShortTermMaxAge(Duration v) {
        Memory m = memory;
        return withMemory(new Memory(m.longTermCapacity(), m.shortTermCapacity(), v, m.shortTermRecalls()));
    }

    public CuratorSettings optShortTermRecalls(int v) {
        Memory m = memory;
        return withMemory(new Memory(m.longTermCapacity(), m.shortTermCapacity(), m.shortTermMaxAge(), v));
    }

    public CuratorSettings optIntervalGrowth(double v) {
        Intervals i = intervals;
        return withIntervals(new Intervals(v, i.base(), i.max(), i.min(), i.jitter()));
    }

    public CuratorSettings optBaseInterval(long v) {
        Intervals i = intervals;
        return withIntervals(new Intervals(i.growth(), v, i.max(), i.min(), i.jitter()));
    }

    public CuratorSettings optMaxInterval(long v) {
        Intervals i = intervals;
        return withIntervals(new Intervals(i.growth(), i.base(), v, i.min(), i.jitter()));
    }

    public CuratorSettings optMinInterval(long v) {
        Intervals i = intervals;
        return withIntervals(new Intervals(i.growth(), i.base(), i.max(), v, i.jitter()));
    }

    /** Sets I_0, I_max and I_min at once (they are validated together). */
    public CuratorSettings optIntervals(long base, long max, long min) {
        return withIntervals(new Intervals(intervals.growth(), base, max, min, intervals.jitter()));
    }

    public CuratorSettings optJitter(double v) {
        Intervals i = intervals;
        return withIntervals(new Intervals(i.growth(), i.base(), i.max(), i.min(), v));
    }

    public CuratorSettings optLinger(Duration v) {
        return withEmission(new Emission(v, emission.idleReplay(), emission.freshOnlyLag()));
    }

    public CuratorSettings optIdleReplay(Duration v) {
        return withEmission(new Emission(emission.linger(), v, emission.freshOnlyLag()));
    }

    /** Overload: compose fresh-only batches while the input lags the wall clock by more than this; zero = off. */
    public CuratorSettings optFreshOnlyLag(Duration v) {
        return withEmission(new Emission(emission.linger(), emission.idleReplay(), v));
    }

    public CuratorSettings optEvalCapacityPerClass(int v) {
        return withEvaluation(new Evaluation(v, evaluation.everySteps()));
    }

    public CuratorSettings optEvalEverySteps(long v) {
        return withEvaluation(new Evaluation(evaluation.capacityPerClass(), v));
    }

    public CuratorSettings optPendingCapacity(int v) {
        return withFeedback(new FeedbackLimits(v, feedback.pendingExpiry(), feedback.rejectedRetention(), feedback.recallCorrections()));
    }

    public CuratorSettings optPendingExpiry(Duration v) {
        return withFeedback(new FeedbackLimits(feedback.pendingCapacity(), v, feedback.rejectedRetention(), feedback.recallCorrections()));
    }

    public CuratorSettings optRejectedRetention(Duration v) {
        return withFeedback(new FeedbackLimits(feedback.pendingCapacity(), feedback.pendingExpiry(), v, feedback.recallCorrections()));
    }

    /** Whether a LABEL correction of a trained sample gets a recall of its own, ahead of every other recall. */
    public CuratorSettings optRecallCorrections(boolean v) {
        return withFeedback(new FeedbackLimits(feedback.pendingCapacity(), feedback.pendingExpiry(), feedback.rejectedRetention(), v));
    }

    /** The contract of the models in {@code modelIds} (and of any model, with {@code acceptAnyModel}). */
    public CuratorSettings optContract(ModelContract v) {
        Models m = models;
        return withModels(new Models(v, m.contracts(), m.ids(), m.acceptAny(), m.maxModels()));
    }

    /** Accepts one more model id, with a contract of its own (or replaces its contract). */
    public CuratorSettings optContract(String modelId, ModelContract v) {
        Map<String, ModelContract> contracts = new TreeMap<>(models.contracts());
        contracts.put(modelId, v);
        Models m = models;
        return withModels(new Models(m.contract(), contracts, m.ids(), m.acceptAny(), m.maxModels()));
    }

    /** The model ids accepted with the shared contract (replacing the current ones). */
    public CuratorSettings optModelIds(String... ids) {
        return optModelIds(Set.of(ids));
    }

    /** The model ids accepted with the shared contract (replacing the current ones). */
    public CuratorSettings optModelIds(Set<String> ids) {
        Models m = models;
        return withModels(new Models(m.contract(), m.contracts(), ids, m.acceptAny(), m.maxModels()));
    }

    /** Whether samples for every model id are accepted (up to {@code maxModels} per shard). */
    public CuratorSettings optAcceptAnyModel(boolean v) {
        Models m = models;
        return withModels(new Models(m.contract(), m.contracts(), m.ids(), v, m.maxModels()));
    }

    public CuratorSettings optMaxModels(int v) {
        Models m = models;
        return withModels(new Models(m.contract(), m.contracts(), m.ids(), m.acceptAny(), v));
    }

    public CuratorSettings optInputPartitions(int v) {
        return new CuratorSettings(batches, memory, intervals, emission, evaluation, feedback, models, v, seed);
    }

    public CuratorSettings optSeed(long v) {
        return new CuratorSettings(batches, memory, intervals, emission, evaluation, feedback, models, inputPartitions, v);
    }

    public CuratorSettings withBatches(Batches v) {
        return new CuratorSettings(v, memory, intervals, emission, evaluation, feedback, models, inputPartitions, seed);
    }

    public CuratorSettings withMemory(Memory v) {
        return new CuratorSettings(batches, v, intervals, emission, evaluation, feedback, models, inputPartitions, seed);
    }

    public CuratorSettings withIntervals(Intervals v) {
        return new CuratorSettings(batches, memory, v, emission, evaluation, feedback, models, inputPartitions, seed);
    }

    public CuratorSettings withEmission(Emission v) {
        return new CuratorSettings(batches, memory, intervals, v, evaluation, feedback, models, inputPartitions, seed);
    }

    public CuratorSettings withEvaluation(Evaluation v) {
        return new CuratorSettings(batches, memory, intervals, emission, v, feedback, models, inputPartitions, seed);
    }

    public CuratorSettings withFeedback(FeedbackLimits v) {
        return new CuratorSettings(batches, memory, intervals, emission, evaluation, v, models, inputPartitions, seed);
    }

    public CuratorSettings withModels(Models v) {
        return new CuratorSettings(batches, memory, intervals, emission, evaluation, feedback, v, inputPartitions, seed);
    }

    // ---- internals ----

    private int perShard(int total) {
        return (int) ((total + (long) inputPartitions - 1) / inputPartitions);
    }

    private static long resolveBase(Batches b, Memory m, Intervals i, int partitions) {
        if (i.base() > 0) {
            return i.base();
        }
        int groups = b.groups();
        int fresh = b.freshGroups();
        double rhoRep = (groups - fresh) / (double) groups;
        long shardCapacity = (m.longTermCapacity() + (long) partitions - 1) / partitions;
        if (rhoRep <= 0 || shardCapacity == 0) {
            return i.min();
        }
        return Math.max(i.min(), (long) Math.ceil(b.views() * shardCapacity / (rhoRep * b.size())));
    }

    private static boolean positive(Duration d) {
        return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
