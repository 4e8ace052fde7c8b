package io.rehearsal.models.train;

import io.rehearsal.models.features.FeatureCacheSettings;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything that shapes one model's trainer. Validated on construction; build it with {@link
 * #builder(String, ModelSpec)} and the {@code opt*} setters.
 *
 * @param modelId               the model's id: the key of its batches and snapshots
 * @param spec                  the network
 * @param optimizer             SGD (with momentum) or Adam
 * @param learningRate          step size
 * @param momentum              SGD momentum (ignored by Adam)
 * @param weightDecay           L2 weight decay
 * @param lambda                weight of the KL(anchor || view) term and its warm-up
 * @param augment               how views are built
 * @param seed                  seeds initialization and every step's augmentation
 * @param threads               PyTorch intra-op threads (CPU)
 * @param interopThreads        PyTorch inter-op threads (CPU)
 * @param snapshotEverySteps    publish a snapshot after this many training steps...
 * @param snapshotEvery         ...or this long after the previous one, whichever comes first
 * @param maxInlineBytes        parameter blobs up to this size go inline in the snapshot; larger ones in chunks
 * @param chunkBytes            size of each chunk on the chunk topic
 * @param transactionalIdPrefix the producer's {@code transactional.id} is this plus the model id
 * @param groupIdPrefix         the consumer group (where offsets are committed) is this plus the model id
 * @param bufferSize            the curator's long-term buffer size M, for provenance; 0 if unknown
 * @param signingKey            HMAC-SHA256 key to sign snapshots with; empty: unsigned
 * @param pollTimeout           longest wait for new batches in one poll
 * @param classBalanced         weigh the cross-entropy so that every class in a batch has the same total
 *                              weight (counters the new classes' dominance in class-incremental streams)
 * @param featureCache          bounds of the feature cache (memory, disk tier, longest wait)
 * @param maxBatchAge           overload: TRAIN batches older than this when read are shed whole; zero: off
 * @param recallShedAge         overload: TRAIN batches older than this (and not older than {@code maxBatchAge})
 *                              when read are trained on their fresh items only, packed with those of other such
 *                              batches into steps of a batch's views; their recalls are shed; zero: off
 * @param module                the user's TorchScript module when {@code spec} is a {@link ModelSpec#TORCHSCRIPT}
 *                              network (it must be the module the spec names); empty for the built-in networks
 */
public record TrainerSettings(String modelId, ModelSpec spec, OptimizerKind optimizer, float learningRate,
                              float momentum, float weightDecay, LambdaSchedule lambda, AugmentSettings augment,
                              long seed, int threads, int interopThreads, long snapshotEverySteps,
                              Duration snapshotEvery, int maxInlineBytes, int chunkBytes,
                              String transactionalIdPrefix, String groupIdPrefix, int bufferSize,
                              Optional<String> signingKey, Duration pollTimeout, boolean classBalanced,
                              FeatureCacheSettings featureCache, Duration maxBatchAge,
                              Duration recallShedAge, Optional<TorchScriptModule> module) {
    public TrainerSettings {
        Objects.requireNonNull(modelId, "modelId");
        if (modelId.isBlank() || !modelId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("model id '" + modelId + "' must be letters, digits, '.', '_' or '-'");
        }
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(lambda, "lambda");
        Objects.requireNonNull(augment, "augment");
        Objects.requireNonNull(snapshotEvery, "snapshotEvery");
        Objects.requireNonNull(pollTimeout, "pollTimeout");
        Objects.requireNonNull(signingKey, "signingKey");
        Objects.requireNonNull(transactionalIdPrefix, "transactionalIdPrefix");
        Objects.requireNonNull(groupIdPrefix, "groupIdPrefix");
        Objects.requireNonNull(featureCache, "featureCache");
        Objects.requireNonNull(maxBatchAge, "maxBatchAge");
        Objects.requireNonNull(module, "module");
        if (spec.isTorchScript() && module.isEmpty()) {
            throw new IllegalArgumentException("model " + modelId + " is a TorchScript network (" + spec.moduleSha256().orElseThrow()
                    + "): give the trainer its module file");
        }
        if (module.isPresent() && !module.get().sha256().equals(spec.moduleSha256().orElse(null))) {
            throw new IllegalArgumentException("the TorchScript module " + module.get().sha256() + " is not the network of "
                    + spec + "; build the spec with TorchScriptModule.spec");
        }
        if (maxBatchAge.isNegative()) {
            throw new IllegalArgumentException("maxBatchAge must be >= 0 (0 = off), got " + maxBatchAge);
        }
        Objects.requireNonNull(recallShedAge, "recallShedAge");
        if (recallShedAge.isNegative()) {
            throw new IllegalArgumentException("recallShedAge must be >= 0 (0 = off), got " + recallShedAge);
        }
        if (!recallShedAge.isZero() && !maxBatchAge.isZero() && recallShedAge.compareTo(maxBatchAge) >= 0) {
            throw new IllegalArgumentException("recallShedAge (" + recallShedAge + ") must be below maxBatchAge ("
                    + maxBatchAge + "): a batch past the maximum age is shed whole, so it would never be packed");
        }
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be a finite number > 0, got " + learningRate);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        }
        if (threads < 1 || interopThreads < 1) {
            throw new IllegalArgumentException("threads and interopThreads must be >= 1, got " + threads + ", "
                    + interopThreads + "; on a busy 2-core machine 1 intra-op thread is usually fastest");
        }
        if (snapshotEverySteps < 1) {
            throw new IllegalArgumentException("snapshotEverySteps must be >= 1, got " + snapshotEverySteps);
        }
        if (snapshotEvery.isNegative() || snapshotEvery.isZero()) {
            throw new IllegalArgumentException("snapshotEvery must be positive, got " + snapshotEvery);
        }
        if (chunkBytes < 1024 || maxInlineBytes < 0) {
            throw new IllegalArgumentException("chunkBytes must be >= 1024 and maxInlineBytes >= 0, got "
                    + chunkBytes + " and " + maxInlineBytes);
        }
        if (bufferSize < 0) {
            throw new IllegalArgumentException("bufferSize must be >= 0 (0 = unknown), got " + bufferSize);
        }
        if (signingKey.isPresent() && signingKey.get().getBytes(StandardCharsets.UTF_8).length < 16) {
            throw new IllegalArgumentException("the snapshot signing key must be at least 16 bytes; generate one with "
                    + "`openssl rand -hex 32`");
        }
    }

    /** Defaults for {@code spec}: SGD 0.02 momentum 0.9, lambda 1 after 100 + 100 steps, 1 thread, snapshot every 50 steps or 0.5 s
     * (a subscriber then serves a model within about a second of a sample at 1,000 samples/s; see docs/benchmarks.md). */
    public static Builder builder(String modelId, ModelSpec spec) {
        return new Builder(modelId, spec);
    }

    /** The transactional id of this model's producer: one per model, so a second trainer fences the first. */
    public String transactionalId() {
        return transactionalIdPrefix + modelId;
    }

    /** The consumer group that holds this model's committed batch offsets. */
    public String groupId() {
        return groupIdPrefix + modelId;
    }

    /** The settings as strings for a snapshot's provenance; the signing key itself is never included. */
    public Map<String, String> toProvenance() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("modelId", modelId);
        map.put("spec", spec.toString());
        map.put("optimizer", optimizer.name());
        map.put("learningRate", Float.toString(learningRate));
        map.put("momentum", Float.toString(momentum));
        map.put("weightDecay", Float.toString(weightDecay));
        map.put("lambda", Float.toString(lambda.lambda()));
        map.put("warmupSteps", Long.toString(lambda.warmupSteps()));
        map.put("rampSteps", Long.toString(lambda.rampSteps()));
        map.put("augment", augment.toString());
        map.put("classBalanced", Boolean.toString(classBalanced));
        map.put("seed", Long.toString(seed));
        map.put("threads", Integer.toString(threads));
        map.put("interopThreads", Integer.toString(interopThreads));
        map.put("snapshotEverySteps", Long.toString(snapshotEverySteps));
        map.put("snapshotEvery", snapshotEvery.toString());
        map.put("maxInlineBytes", Integer.toString(maxInlineBytes));
        map.put("chunkBytes", Integer.toString(chunkBytes));
        map.put("transactionalId", transactionalId());
        map.put("groupId", groupId());
        map.put("bufferSize", Integer.toString(bufferSize));
        map.put("signed", Boolean.toString(signingKey.isPresent()));
        map.put("maxBatchAge", maxBatchAge.toString());
        map.put("recallShedAge", recallShedAge.toString());
        return map;
    }

    @Override
    public String toString() {
        return "TrainerSettings" + toProvenance();
    }

    /** Fluent builder with DJL-style {@code opt*} setters. */
    public static final class Builder {
        private final String modelId;
        private final ModelSpec spec;
        private OptimizerKind optimizer = OptimizerKind.SGD;
        private float learningRate = 0.02f;
        private float momentum = 0.9f;
        private float weightDecay = 0f;
        private LambdaSchedule lambda = new LambdaSchedule(1f, 100, 100);
        private AugmentSettings augment = AugmentSettings.defaults();
        private long seed = 42;
        private int threads = 1;
        private int interopThreads = 1;
        // freshness: at 100 steps / 30 s a subscriber trailed 1,000 samples/s by 4.5 s (p50) and 100/s by 4 s
        private long snapshotEverySteps = 50;
        private Duration snapshotEvery = Duration.ofMillis(500);
        private int maxInlineBytes = 512 * 1024;
        private int chunkBytes = 512 * 1024;
        private String transactionalIdPrefix = "rehearsal-trainer-";
        private String groupIdPrefix = "rehearsal-trainer-";
        private int bufferSize = 0;
        private Optional<String> signingKey = Optional.empty();
        private Duration pollTimeout = Duration.ofMillis(500);
        private boolean classBalanced = false;
        private FeatureCacheSettings featureCache = FeatureCacheSettings.defaults();
        private Duration maxBatchAge = Duration.ZERO;
        private Duration recallShedAge = Duration.ZERO;
        private Optional<TorchScriptModule> module = Optional.empty();

        private Builder(String modelId, ModelSpec spec) {
            this.modelId = modelId;
            this.spec = spec;
        }

        public Builder optOptimizer(OptimizerKind optimizer, float learningRate) {
            this.optimizer = optimizer;
            this.learningRate = learningRate;
            return this;
        }

        public Builder optMomentum(float momentum) {
            this.momentum = momentum;
            return this;
        }

        public Builder optWeightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        public Builder optLambda(float lambda, long warmupSteps, long rampSteps) {
            this.lambda = new LambdaSchedule(lambda, warmupSteps, rampSteps);
            return this;
        }

        public Builder optAugment(AugmentSettings augment) {
            this.augment = augment;
            return this;
        }

        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder optThreads(int threads, int interopThreads) {
            this.threads = threads;
            this.interopThreads = interopThreads;
            return this;
        }

        public Builder optSnapshotEvery(long steps, Duration time) {
            this.snapshotEverySteps = steps;
            this.snapshotEvery = time;
            return this;
        }

        public Builder optChunking(int maxInlineBytes, int chunkBytes) {
            this.maxInlineBytes = maxInlineBytes;
            this.chunkBytes = chunkBytes;
            return this;
        }

        public Builder optTransactionalIdPrefix(String prefix) {
            this.transactionalIdPrefix = prefix;
            return this;
        }

        public Builder optGroupIdPrefix(String prefix) {
            this.groupIdPrefix = prefix;
            return this;
        }

        public Builder optBufferSize(int bufferSize) {
            this.bufferSize = bufferSize;
            return this;
        }

        public Builder optSigningKey(String key) {
            this.signingKey = Optional.ofNullable(key);
            return this;
        }

        public Builder optPollTimeout(Duration pollTimeout) {
            this.pollTimeout = pollTimeout;
            return this;
        }

        /** Class-balanced cross-entropy: every class in a batch gets the same total weight. */
        public Builder optClassBalanced(boolean classBalanced) {
            this.classBalanced = classBalanced;
            return this;
        }

        public Builder optFeatureCache(FeatureCacheSettings featureCache) {
            this.featureCache = featureCache;
            return this;
        }

        /** Overload: TRAIN batches older than this when read are shed (not trained); zero: off. */
        public Builder optMaxBatchAge(Duration maxBatchAge) {
            this.maxBatchAge = maxBatchAge;
            return this;
        }

        /**
         * Overload: TRAIN batches older than this when read (and not past the maximum batch age) are trained on
         * their fresh items only, packed into full steps; their recalls are shed; zero: off.
         */
        public Builder optRecallShedAge(Duration recallShedAge) {
            this.recallShedAge = recallShedAge;
            return this;
        }

        /** The TorchScript module a {@link ModelSpec#TORCHSCRIPT} spec names. */
        public Builder optModule(TorchScriptModule module) {
            this.module = Optional.ofNullable(module);
            return this;
        }

        public TrainerSettings build() {
            return new TrainerSettings(modelId, spec, optimizer, learningRate, momentum, weightDecay, lambda, augment,
                    seed, threads, interopThreads, snapshotEverySteps, snapshotEvery, maxInlineBytes, chunkBytes,
                    transactionalIdPrefix, groupIdPrefix, bufferSize, signingKey, pollTimeout, classBalanced, featureCache,
                    maxBatchAge, recallShedAge, module);
        }
    }
}
