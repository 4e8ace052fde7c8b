package io.rehearsal.models.subscribe;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link ModelSubscriber} follows one model. Validated on construction; build it with {@link
 * #builder(String)} and the {@code opt*} setters.
 *
 * @param modelId        the model to follow: the key of its snapshots on the model-updates topic
 * @param topK           how many best classes a prediction lists (capped at the model's class count)
 * @param verifyKey      HMAC-SHA256 key the trainer signs with; when present, unsigned or mis-signed
 *                       snapshots are refused
 * @param threads        PyTorch intra-op threads for inference (CPU)
 * @param startTimeout   how long {@code start} waits to read the topic to its end and load the latest snapshot
 * @param readTimeout    longest wait for a chunk or for the broker's metadata
 * @param pollTimeout    longest wait for new snapshots in one poll
 * @param follow         the promoted version (default) or the trainer's latest candidate
 */
public record SubscriberSettings(String modelId, int topK, Optional<String> verifyKey, int threads,
                                 Duration startTimeout, Duration readTimeout, Duration pollTimeout, Follow follow) {
    public SubscriberSettings {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(follow, "follow");
        if (modelId.isBlank() || !modelId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("model id '" + modelId + "' must be letters, digits, '.', '_' or '-'");
        }
        Objects.requireNonNull(verifyKey, "verifyKey");
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be >= 1, got " + topK);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads
                    + "; on a busy 2-core machine 1 intra-op thread is usually fastest");
        }
        requirePositive(startTimeout, "startTimeout");
        requirePositive(readTimeout, "readTimeout");
        requirePositive(pollTimeout, "pollTimeout");
        if (verifyKey.isPresent() && verifyKey.get().getBytes(StandardCharsets.UTF_8).length < 16) {
            throw new IllegalArgumentException("the snapshot key must be at least 16 bytes (the trainer's signing key)");
        }
    }

    private static void requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }

    /**
     * Defaults: the promoted version, top 3, no signature required, 1 thread, start within 60 s, chunks within
     * 30 s, poll 500 ms.
     */
    public static Builder builder(String modelId) {
        return new Builder(modelId);
    }

    /** Fluent builder with DJL-style {@code opt*} setters. */
    public static final class Builder {
        private final String modelId;
        private int topK = 3;
        private Optional<String> verifyKey = Optional.empty();
        private int threads = 1;
        private Duration startTimeout = Duration.ofSeconds(60);
        private Duration readTimeout = Duration.ofSeconds(30);
        private Duration pollTimeout = Duration.ofMillis(500);
        private Follow follow = Follow.PROMOTED;

        private Builder(String modelId) {
            this.modelId = modelId;
        }

        public Builder optTopK(int topK) {
            this.topK = topK;
            return this;
        }

        /** Require snapshots signed with this key ({@code null}: accept unsigned ones, checking only SHA-256). */
        public Builder optVerifyKey(String key) {
            this.verifyKey = Optional.ofNullable(key);
            return this;
        }

        public Builder optThreads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder optStartTimeout(Duration startTimeout) {
            this.startTimeout = startTimeout;
            return this;
        }

        public Builder optReadTimeout(Duration readTimeout) {
            this.readTimeout = readTimeout;
            return this;
        }

        public Builder optPollTimeout(Duration pollTimeout) {
            this.pollTimeout = pollTimeout;
            return this;
        }

        /**
         * {@link Follow#PROMOTED} (the default: what the promoter promoted) or {@link Follow#LATEST} (every
         * verified snapshot, as subscribers did before promotions existed).
         */
        public Builder optFollow(Follow follow) {
            this.follow = follow;
            return this;
        }

        public SubscriberSettings build() {
            return new SubscriberSettings(modelId, topK, verifyKey, threads, startTimeout, readTimeout, pollTimeout, follow);
        }
    }
}
