package io.rehearsal.streams;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every knob of the curator, validated on construction. Start from {@link #defaults()} and change what
 * you need with the {@code opt*} copies:
 *
 * <pre>{@code
 * CuratorSettings s = CuratorSettings.defaults().optViews(1).optLongTermCapacity(200).optSeed(7);
 * }</pre>
 *
 * <p>Steps are training batches of one (model, shard). Capacities are totals per model; with
 * {@code inputPartitions} shards each shard holds {@code ceil(total / inputPartitions)} (see the
 * {@code shard*} methods). See docs/curator.md for how the settings shape the schedule.
 *
 * @param batchSize             B: sample views per TRAIN batch
 * @param views                 R: augmented views per view group (1 = plain experience replay); divides B
 * @param freshShare            rho_new: share of the G = B/R groups given to fresh samples, ceil(rho_new * G)
 * @param longTermShare         share of the recall groups offered first to the long-term tier; capacity one
 *                              tier leaves unused goes to the other
 * @param longTermCapacity      M: class-balanced long-term buffer size per model (0 = none)
 * @param shortTermCapacity     most recent samples kept in the short-term store per model
 * @param shortTermMaxAge       samples older than this (record time against stream time) leave the short-term store
 * @param shortTermRecalls      K_short: recalls from the short-term store before a sample is handed to the
 *                              long-term buffer (0 = single-pass online learning)
 * @param intervalGrowth        g: I_k = min(I_max, I_0 * g^k); 1 is the paper's fixed interval
 * @param baseInterval          I_0 in steps; 0 = auto, R * M / (rho_rep * B) per shard
 * @param maxInterval           I_max in steps; 0 = auto, 4 * I_0
 * @param minInterval           I_min: no sample is recalled again less than this many steps after its last visit
 * @param jitter                relative jitter of each interval, uniform in +-jitter, seeded
 * @param fillRecalls           recall groups left after the due entries take the entries due soonest
 *                              (never within I_min), so every batch has G groups once memory holds enough:
 *                              same compute per step, as plain experience replay has
 * @param linger                emit a partial batch when the oldest waiting fresh sample is this old (wall
 *                              clock); zero = only full batches
 * @param idleReplay            while no fresh sample waits, emit a replay-only batch of due recalls this often
 *                              (wall clock); zero = off
 * @param evalCapacityPerClass  held-out (EVAL) samples kept per model and class
 * @param evalEverySteps        emit the eval set as EVAL batches after every this many TRAIN batches; 0 = never
 * @param pendingCapacity       feedback waiting for its sample, per shard
 * @param pendingExpiry         feedback waiting longer than this (stream time) is dead-lettered
 * @param rejectedRetention     how long a REJECTed sample id is kept out (stream time)
 * @param contract              the contract of the models in {@code modelIds}, and of any model id when
 *                              {@code acceptAnyModel}
 * @param contracts             models with a contract of their own (known models too)
 * @param modelIds              the model ids the curator accepts with {@code contract}; samples for any other
 *                              id (not in {@code contracts}) are dead-lettered as UNKNOWN_MODEL
 * @param acceptAnyModel        accept samples for every model id (with {@code contract}), up to {@code maxModels}
 *                              per shard: for development; a typo in a producer's model id then trains a new model
 * @param maxModels             with {@code acceptAnyModel}: the most model ids one shard holds, so that producers
 *                              cannot grow the state and the metric labels without bound
 * @param inputPartitions       partitions of the samples topic; capacities are split across them
 * @param seed                  seeds reservoir sampling and interval jitter
 */
public record CuratorSettings(
        int batchSize,
        int views,
        double freshShare,
        double longTermShare,
        int longTermCapacity,
        int shortTermCapacity,
        Duration shortTermMaxAge,
        int shortTermRecalls,
        double intervalGrowth,
        long baseInterval,
        long maxInterval,
        long minInterval,
        double jitter,
        boolean fillRecalls,
        Duration linger,
        Duration idleReplay,
        int evalCapacityPerClass,
        long evalEverySteps,
        int pendingCapacity,
        Duration pendingExpiry,
        Duration rejectedRetention,
        ModelContract contract,
        Map<String, ModelContract> contracts,
        Set<String> modelIds,
        boolean acceptAnyModel,
        int maxModels,
        int inputPartitions,
        long seed) {

    /** The model id accepted by {@link #defaults()}: the one producers get when they name none. */
    public static final String DEFAULT_MODEL_ID = "default";
    /** Model ids one shard holds at most when it accepts any. */
    public static final int DEFAULT_MAX_MODELS = 100;

    public CuratorSettings {
        require(batchSize >= 1, "batchSize must be >= 1, got " + batchSize);
        require(views >= 1, "views (R) must be >= 1, got " + views);
        require(batchSize % views == 0, "batchSize " + batchSize + " must be a multiple of views " + views
                + " (a batch holds B/R view groups)");
        require(freshShare > 0 && freshShare <= 1, "freshShare must be in (0, 1], got " + freshShare);
        require(longTermShare >= 0 && longTermShare <= 1, "longTermShare must be in [0, 1], got " + longTermShare);
        require(longTermCapacity >= 0, "longTermCapacity must be >= 0, got " + longTermCapacity);
        require(shortTermCapacity >= 1, "shortTermCapacity must be >= 1, got " + shortTermCapacity);
        require(positive(shortTermMaxAge), "shortTermMaxAge must be > 0, got " + shortTermMaxAge);
        require(shortTermRecalls >= 0, "shortTermRecalls (K_short) must be >= 0, got " + shortTermRecalls);
        require(intervalGrowth >= 1 && Double.isFinite(intervalGrowth), "intervalGrowth (g) must be >= 1, got " + intervalGrowth);
        require(baseInterval >= 0, "baseInterval must be >= 0 (0 = auto), got " + baseInterval);
        require(maxInterval >= 0, "maxInterval must be >= 0 (0 = auto), got " + maxInterval);
        require(minInterval >= 1, "minInterval must be >= 1, got " + minInterval);
        require(jitter >= 0 && jitter < 1, "jitter must be in [0, 1), got " + jitter);
        require(linger != null && !linger.isNegative(), "linger must be >= 0, got " + linger);
        require(idleReplay != null && !idleReplay.isNegative(), "idleReplay must be >= 0, got " + idleReplay);
        require(evalCapacityPerClass >= 0, "evalCapacityPerClass must be >= 0, got " + evalCapacityPerClass);
        require(evalEverySteps >= 0, "evalEverySteps must be >= 0, got " + evalEverySteps);
        require(pendingCapacity >= 0, "pendingCapacity must be >= 0, got " + pendingCapacity);
        require(positive(pendingExpiry), "pendingExpiry must be > 0, got " + pendingExpiry);
        require(positive(rejectedRetention), "rejectedRetention must be > 0, got " + rejectedRetention);
        Objects.requireNonNull(contract, "contract");
        contracts = Map.copyOf(Objects.requireNonNull(contracts, "contracts"));
        modelIds = Set.copyOf(new TreeSet<>(Objects.requireNonNull(modelIds, "modelIds")));
        require(maxModels >= 1, "maxModels must be >= 1, got " + maxModels);
        require(acceptAnyModel || !modelIds.isEmpty() || !contracts.isEmpty(),
                "the curator accepts no model: name at least one model id, or accept any");
        require(inputPartitions >= 1, "inputPartitions must be >= 1, got " + inputPartitions);
        long i0 = resolveBase(baseInterval, views, batchSize, freshShare, longTermCapacity, inputPartitions, minInterval);
        long imax = maxInterval == 0 ? 4 * i0 : maxInterval;
        require(i0 >= minInterval, "baseInterval " + i0 + " must be >= minInterval " + minInterval);
        require(imax >= i0, "maxInterval " + imax + " must be >= baseInterval " + i0);
    }

    /**
     * B = 128, R = 2, rho_new = 0.125 (8 fresh + 56 recall groups), long-term share 0.25, M = 2000,
     * short-term 20,000 samples or 1 hour, K_short = 1 (4 views per fresh sample), g = 1, I_0 auto, I_max auto,
     * I_min = 2, jitter 0.1, early fill on, linger 2 s, no idle replay, 50 eval samples per class every 200
     * steps, 10,000 pending feedback for 1 hour, rejections kept 7 days, one model, {@code default}, with the
     * Fashion-MNIST contract (no other model id accepted), 1 partition, seed 42. The schedule values are the best found by the continual-learning benchmark's tuning
     * (docs/benchmarks-cl.md).
     */
    public static CuratorSettings defaults() {
        return new CuratorSettings(128, 2, 0.125, 0.25, 2000, 20_000, Duration.ofHours(1), 1,
                1.0, 0, 0, 2, 0.1, true, Duration.ofSeconds(2), Duration.ZERO, 50, 200,
                10_000, Duration.ofHours(1), Duration.ofDays(7), ModelContract.fashionMnist(), Map.of(),
                Set.of(DEFAULT_MODEL_ID), false, DEFAULT_MAX_MODELS, 1, 42L);
    }

    // ---- derived values ----

    /** G = B / R view groups per batch. */
    public int groups() {
        return batchSize / views;
    }

    /** ceil(rho_new * G) fresh groups per full batch. */
    public int freshGroups() {
        return (int) Math.min(groups(), Math.ceil(freshShare * groups() - 1e-9));
    }

    /** G minus the fresh groups: the recall capacity of a full batch. */
    public int recallGroups() {
        return groups() - freshGroups();
    }

    /** I_0 in steps, resolved when 0 (auto). */
    public long resolvedBaseInterval() {
        return resolveBase(baseInterval, views, batchSize, freshShare, longTermCapacity, inputPartitions, minInterval);
    }

    /** I_max in steps, resolved when 0 (auto). */
    public long resolvedMaxInterval() {
        return maxInterval == 0 ? 4 * resolvedBaseInterval() : maxInterval;
    }

    /** Long-term capacity of one shard. */
    public int shardLongTermCapacity() {
        return perShard(longTermCapacity);
    }

    /** Short-term capacity of one shard. */
    public int shardShortTermCapacity() {
        return Math.max(1, perShard(shortTermCapacity));
    }

    /** Eval samples per class in one shard. */
    public int shardEvalCapacityPerClass() {
        return perShard(evalCapacityPerClass);
    }

    /**
     * The contract of one model, or null when the curator does not accept the model id (see
     * {@code modelIds}, {@code contracts} and {@code acceptAnyModel}).
     */
    public ModelContract contractOf(String modelId) {
        ModelContract own = contracts.get(modelId);
        if (own != null) {
            return own;
        }
        return acceptAnyModel || modelIds.contains(modelId) ? contract : null;
    }

    /** The model ids accepted by name (with the shared contract or their own), sorted. */
    public SortedSet<String> knownModels() {
        SortedSet<String> known = new TreeSet<>(modelIds);
        known.addAll(contracts.keySet());
        return known;
    }

    /** The settings as strings, for logs and provenance. */
    public Map<String, String> describe() {
        Map<String, String> m = new TreeMap<>();
        m.put("batchSize", Integer.toString(batchSize));
        m.put("views", Integer.toString(views));
        m.put("freshShare", Double.toString(freshShare));
        m.put("longTermShare", Double.toString(longTermShare));
        m.put("longTermCapacity", Integer.toString(longTermCapacity));
        m.put("shortTermCapacity", Integer.toString(shortTermCapacity));
        m.put("shortTermMaxAge", shortTermMaxAge.toString());
        m.put("shortTermRecalls", Integer.toString(shortTermRecalls));
        m.put("intervalGrowth", Double.toString(intervalGrowth));
        m.put("baseInterval", Long.toString(resolvedBaseInterval()));
        m.put("maxInterval", Long.toString(resolvedMaxInterval()));
        m.put("minInterval", Long.toString(minInterval));
        m.put("jitter", Double.toString(jitter));
        m.put("fillRecalls", Boolean.toString(fillRecalls));
        m.put("linger", linger.toString());
        m.put("idleReplay", idleReplay.toString());
        m.put("evalCapacityPerClass", Integer.toString(evalCapacityPerClass));
        m.put("evalEverySteps", Long.toString(evalEverySteps));
        m.put("pendingCapacity", Integer.toString(pendingCapacity));
        m.put("pendingExpiry", pendingExpiry.toString());
        m.put("rejectedRetention", rejectedRetention.toString());
        m.put("contract", contract.inputShape() + "/" + contract.numClasses());
        contracts.forEach((id, c) -> m.put("contract." + id, c.inputShape() + "/" + c.numClasses()));
        m.put("modelIds", String.join(",", knownModels()));
        m.put("acceptAnyModel", Boolean.toString(acceptAnyModel));
        m.put("maxModels", Integer.toString(maxModels));
        m.put("inputPartitions", Integer.toString(inputPartitions));
        m.put("seed", Long.toString(seed));
        return m;
    }

    // ---- copies ----

    public CuratorSettings optBatchSize(int v) {
        return b().batchSize(v).build();
    }

    public CuratorSettings optViews(int v) {
        return b().views(v).build();
    }

    public CuratorSettings optFreshShare(double v) {
        return b().freshShare(v).build();
    }

    public CuratorSettings optLongTermShare(double v) {
        return b().longTermShare(v).build();
    }

    public CuratorSettings optLongTermCapacity(int v) {
        return b().longTermCapacity(v).build();
    }

    public CuratorSettings optShortTermCapacity(int v) {
        return b().shortTermCapacity(v).build();
    }

    public CuratorSettings optShortTermMaxAge(Duration v) {
        return b().shortTermMaxAge(v).build();
    }

    public CuratorSettings optShortTermRecalls(int v) {
        return b().shortTermRecalls(v).build();
    }

    public CuratorSettings optIntervalGrowth(double v) {
        return b().intervalGrowth(v).build();
    }

    public CuratorSettings optBaseInterval(long v) {
        return b().baseInterval(v).build();
    }

    public CuratorSettings optMaxInterval(long v) {
        return b().maxInterval(v).build();
    }

    public CuratorSettings optMinInterval(long v) {
        return b().minInterval(v).build();
    }

    /** Sets I_0, I_max and I_min at once (they are validated together). */
    public CuratorSettings optIntervals(long base, long max, long min) {
        return b().baseInterval(base).maxInterval(max).minInterval(min).build();
    }

    public CuratorSettings optJitter(double v) {
        return b().jitter(v).build();
    }

    public CuratorSettings optFillRecalls(boolean v) {
        return b().fillRecalls(v).build();
    }

    public CuratorSettings optLinger(Duration v) {
        return b().linger(v).build();
    }

    public CuratorSettings optIdleReplay(Duration v) {
        return b().idleReplay(v).build();
    }

    public CuratorSettings optEvalCapacityPerClass(int v) {
        return b().evalCapacityPerClass(v).build();
    }

    public CuratorSettings optEvalEverySteps(long v) {
        return b().evalEverySteps(v).build();
    }

    public CuratorSettings optPendingCapacity(int v) {
        return b().pendingCapacity(v).build();
    }

    public CuratorSettings optPendingExpiry(Duration v) {
        return b().pendingExpiry(v).build();
    }

    public CuratorSettings optRejectedRetention(Duration v) {
        return b().rejectedRetention(v).build();
    }

    /** The contract of the models in {@code modelIds} (and of any model, with {@code acceptAnyModel}). */
    public CuratorSettings optContract(ModelContract v) {
        return b().contract(v).build();
    }

    /** Accepts one more model id, with a contract of its own (or replaces its contract). */
    public CuratorSettings optContract(String modelId, ModelContract v) {
        Map<String, ModelContract> m = new TreeMap<>(contracts);
        m.put(modelId, v);
        return b().contracts(m).build();
    }

    /** The model ids accepted with the shared contract (replacing the current ones). */
    public CuratorSettings optModelIds(String... ids) {
        return b().modelIds(Set.of(ids)).build();
    }

    /** The model ids accepted with the shared contract (replacing the current ones). */
    public CuratorSettings optModelIds(Set<String> ids) {
        return b().modelIds(ids).build();
    }

    /** Whether samples for every model id are accepted (up to {@code maxModels} per shard). */
    public CuratorSettings optAcceptAnyModel(boolean v) {
        return b().acceptAnyModel(v).build();
    }

    public CuratorSettings optMaxModels(int v) {
        return b().maxModels(v).build();
    }

    public CuratorSettings optInputPartitions(int v) {
        return b().inputPartitions(v).build();
    }

    public CuratorSettings optSeed(long v) {
        return b().seed(v).build();
    }

    // ---- internals ----

    private int perShard(int total) {
        return (int) ((total + (long) inputPartitions - 1) / inputPartitions);
    }

    private static long resolveBase(long base, int views, int batchSize, double freshShare, int capacity,
                                    int partitions, long minInterval) {
        if (base > 0) {
            return base;
        }
        int groups = batchSize / views;
        int fresh = (int) Math.min(groups, Math.ceil(freshShare * groups - 1e-9));
        double rhoRep = (groups - fresh) / (double) groups;
        long shardCapacity = (capacity + (long) partitions - 1) / partitions;
        if (rhoRep <= 0 || shardCapacity == 0) {
            return minInterval;
        }
        return Math.max(minInterval, (long) Math.ceil(views * shardCapacity / (rhoRep * batchSize)));
    }

    private static boolean positive(Duration d) {
        return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    private Builder b() {
        return new Builder(this);
    }

    /** Mutable copy used by the {@code opt*} methods; the record constructor validates the result. */
    private static final class Builder {
        private int batchSize;
        private int views;
        private double freshShare;
        private double longTermShare;
        private int longTermCapacity;
        private int shortTermCapacity;
        private Duration shortTermMaxAge;
        private int shortTermRecalls;
        private double intervalGrowth;
        private long baseInterval;
        private long maxInterval;
        private long minInterval;
        private double jitter;
        private boolean fillRecalls;
        private Duration linger;
        private Duration idleReplay;
        private int evalCapacityPerClass;
        private long evalEverySteps;
        private int pendingCapacity;
        private Duration pendingExpiry;
        private Duration rejectedRetention;
        private ModelContract contract;
        private Map<String, ModelContract> contracts;
        private Set<String> modelIds;
        private boolean acceptAnyModel;
        private int maxModels;
        private int inputPartitions;
        private long seed;

        Builder(CuratorSettings s) {
            batchSize = s.batchSize;
            views = s.views;
            freshShare = s.freshShare;
            longTermShare = s.longTermShare;
            longTermCapacity = s.longTermCapacity;
            shortTermCapacity = s.shortTermCapacity;
            shortTermMaxAge = s.shortTermMaxAge;
            shortTermRecalls = s.shortTermRecalls;
            intervalGrowth = s.intervalGrowth;
            baseInterval = s.baseInterval;
            maxInterval = s.maxInterval;
            minInterval = s.minInterval;
            jitter = s.jitter;
            fillRecalls = s.fillRecalls;
            linger = s.linger;
            idleReplay = s.idleReplay;
            evalCapacityPerClass = s.evalCapacityPerClass;
            evalEverySteps = s.evalEverySteps;
            pendingCapacity = s.pendingCapacity;
            pendingExpiry = s.pendingExpiry;
            rejectedRetention = s.rejectedRetention;
            contract = s.contract;
            contracts = s.contracts;
            modelIds = s.modelIds;
            acceptAnyModel = s.acceptAnyModel;
            maxModels = s.maxModels;
            inputPartitions = s.inputPartitions;
            seed = s.seed;
        }

        Builder batchSize(int v) { batchSize = v; return this; }
        Builder views(int v) { views = v; return this; }
        Builder freshShare(double v) { freshShare = v; return this; }
        Builder longTermShare(double v) { longTermShare = v; return this; }
        Builder longTermCapacity(int v) { longTermCapacity = v; return this; }
        Builder shortTermCapacity(int v) { shortTermCapacity = v; return this; }
        Builder shortTermMaxAge(Duration v) { shortTermMaxAge = v; return this; }
        Builder shortTermRecalls(int v) { shortTermRecalls = v; return this; }
        Builder intervalGrowth(double v) { intervalGrowth = v; return this; }
        Builder baseInterval(long v) { baseInterval = v; return this; }
        Builder maxInterval(long v) { maxInterval = v; return this; }
        Builder minInterval(long v) { minInterval = v; return this; }
        Builder jitter(double v) { jitter = v; return this; }
        Builder fillRecalls(boolean v) { fillRecalls = v; return this; }
        Builder linger(Duration v) { linger = v; return this; }
        Builder idleReplay(Duration v) { idleReplay = v; return this; }
        Builder evalCapacityPerClass(int v) { evalCapacityPerClass = v; return this; }
        Builder evalEverySteps(long v) { evalEverySteps = v; return this; }
        Builder pendingCapacity(int v) { pendingCapacity = v; return this; }
        Builder pendingExpiry(Duration v) { pendingExpiry = v; return this; }
        Builder rejectedRetention(Duration v) { rejectedRetention = v; return this; }
        Builder contract(ModelContract v) { contract = v; return this; }
        Builder contracts(Map<String, ModelContract> v) { contracts = v; return this; }
        Builder modelIds(Set<String> v) { modelIds = v; return this; }
        Builder acceptAnyModel(boolean v) { acceptAnyModel = v; return this; }
        Builder maxModels(int v) { maxModels = v; return this; }
        Builder inputPartitions(int v) { inputPartitions = v; return this; }
        Builder seed(long v) { seed = v; return this; }

        CuratorSettings build() {
            return new CuratorSettings(batchSize, views, freshShare, longTermShare, longTermCapacity,
                    shortTermCapacity, shortTermMaxAge, shortTermRecalls, intervalGrowth, baseInterval,
                    maxInterval, minInterval, jitter, fillRecalls, linger, idleReplay, evalCapacityPerClass, evalEverySteps,
                    pendingCapacity, pendingExpiry, rejectedRetention, contract, contracts, modelIds, acceptAnyModel,
                    maxModels, inputPartitions, seed);
        }
    }
}
