package io.rehearsal.models.promote;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How the promoter of one model runs. Validated on construction; build it with {@link #builder} and the
 * {@code opt*} setters.
 *
 * @param modelId               the model
 * @param policy                when a candidate may replace the promoted version
 * @param keepReleases          earlier promoted versions kept for a rollback (their weights stay on the releases topic)
 * @param heldOutCapacity       the most held-out samples kept to evaluate on
 * @param evalLookback          on start, read the train-batches topic from this many records before its end
 *                              (the curator streams its whole eval set every {@code evalEverySteps} batches)
 * @param signingKey            HMAC-SHA256 key: promotions are signed with it and candidates' signatures verified
 * @param transactionalIdPrefix {@code transactional.id} and {@code group.id} = prefix + model id (fences a second promoter)
 * @param chunkBytes            size of the chunks a released version's weights are copied in
 * @param pollTimeout           longest wait for records in one poll
 * @param readTimeout           longest wait for a chunk or the broker's metadata
 * @param threads               PyTorch intra-op threads for evaluation
 */
public record PromoterSettings(String modelId, PromotionPolicy policy, int keepReleases, int heldOutCapacity, int evalLookback,
                               Optional<String> signingKey, String transactionalIdPrefix, int chunkBytes, Duration pollTimeout,
                               Duration readTimeout, int threads) {
    public PromoterSettings {
        Objects.requireNonNull(modelId, "modelId");
        if (modelId.isBlank() || !modelId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("model id '" + modelId + "' must be letters, digits, '.', '_' or '-'");
        }
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(signingKey, "signingKey");
        Objects.requireNonNull(transactionalIdPrefix, "transactionalIdPrefix");
        Objects.requireNonNull(pollTimeout, "pollTimeout");
        Objects.requireNonNull(readTimeout, "readTimeout");
        if (keepReleases < 0 || keepReleases > 16) {
            throw new IllegalArgumentException("keepReleases must be in [0, 16], got " + keepReleases);
        }
        if (heldOutCapacity < 1 || evalLookback < 1 || chunkBytes < 1024 || threads < 1) {
            throw new IllegalArgumentException(String.format("heldOutCapacity (%d), evalLookback (%d) and threads (%d) must be "
                    + ">= 1 and chunkBytes (%d) >= 1024", heldOutCapacity, evalLookback, threads, chunkBytes));
        }
        if (signingKey.isPresent() && signingKey.get().getBytes(StandardCharsets.UTF_8).length < 16) {
            throw new IllegalArgumentException("the signing key must be at least 16 bytes (the trainer's snapshot key)");
        }
    }

    /** The promoter's transactional id and consumer group. */
    public String transactionalId() {
        return transactionalIdPrefix + modelId;
    }

    /**
     * Defaults: {@link PromotionPolicy#defaults()}, 3 rollback targets, 10,000 held-out samples, a lookback of
     * 10,000 batches, unsigned, {@code rehearsal-promoter-<model>}, 512 KiB chunks, poll 200 ms, reads within 30 s,
     * 1 thread.
     */
    public static Builder builder(String modelId) {
        return new Builder(modelId);
    }

    /** Fluent builder with DJL-style {@code opt*} setters. */
    public static final class Builder {
        private final String modelId;
        private PromotionPolicy policy = PromotionPolicy.defaults();
        private int keepReleases = 3;
        private int heldOutCapacity = 10_000;
        private int evalLookback = 10_000;
        private Optional<String> signingKey = Optional.empty();
        private String transactionalIdPrefix = "rehearsal-promoter-";
        private int chunkBytes = 512 << 10;
        private Duration pollTimeout = Duration.ofMillis(200);
        private Duration readTimeout = Duration.ofSeconds(30);
        private int threads = 1;

        private Builder(String modelId) {
            this.modelId = modelId;
        }

        public Builder optPolicy(PromotionPolicy policy) {
            this.policy = policy;
            return this;
        }

        public Builder optKeepReleases(int keepReleases) {
            this.keepReleases = keepReleases;
            return this;
        }

        public Builder optHeldOutCapacity(int heldOutCapacity) {
            this.heldOutCapacity = heldOutCapacity;
            return this;
        }

        public Builder optEvalLookback(int evalLookback) {
            this.evalLookback = evalLookback;
            return this;
        }

        /** Sign promotions and verify candidates with this key ({@code null}: neither). */
        public Builder optSigningKey(String signingKey) {
            this.signingKey = Optional.ofNullable(signingKey);
            return this;
        }

        public Builder optTransactionalIdPrefix(String prefix) {
            this.transactionalIdPrefix = prefix;
            return this;
        }

        public Builder optChunkBytes(int chunkBytes) {
            this.chunkBytes = chunkBytes;
            return this;
        }

        public Builder optPollTimeout(Duration pollTimeout) {
            this.pollTimeout = pollTimeout;
            return this;
        }

        public Builder optReadTimeout(Duration readTimeout) {
            this.readTimeout = readTimeout;
            return this;
        }

        public Builder optThreads(int threads) {
            this.threads = threads;
            return this;
        }

        public PromoterSettings build() {
            return new PromoterSettings(modelId, policy, keepReleases, heldOutCapacity, evalLookback, signingKey,
                    transactionalIdPrefix, chunkBytes, pollTimeout, readTimeout, threads);
        }
    }
}
