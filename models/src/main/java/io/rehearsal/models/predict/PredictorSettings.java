package io.rehearsal.models.predict;

import io.rehearsal.models.subscribe.SubscriberSettings;
import java.time.Duration;
import java.util.Objects;

/**
 * How the prediction service runs. Validated on construction; build it with {@link #builder} and the
 * {@code opt*} setters.
 *
 * @param subscriber     the model to serve and how snapshots are followed
 * @param groupIdPrefix  instances with the same consumer group ({@code groupIdPrefix + modelId}) share the
 *                       request partitions; Kubernetes ACLs allow groups starting with {@code rehearsal-predictor}
 * @param pollTimeout    longest wait for requests in one poll
 * @param maxPollRecords most requests taken per poll (and predicted in one forward pass)
 * @param sendTimeout    longest wait for the broker to acknowledge feedback sent over HTTP
 */
public record PredictorSettings(SubscriberSettings subscriber, String groupIdPrefix, Duration pollTimeout,
                                int maxPollRecords, Duration sendTimeout) {
    public PredictorSettings {
        Objects.requireNonNull(subscriber, "subscriber");
        Objects.requireNonNull(groupIdPrefix, "groupIdPrefix");
        Objects.requireNonNull(pollTimeout, "pollTimeout");
        Objects.requireNonNull(sendTimeout, "sendTimeout");
        if (groupIdPrefix.isBlank()) {
            throw new IllegalArgumentException("groupIdPrefix must not be blank; the default is rehearsal-predictor-");
        }
        if (pollTimeout.isNegative() || pollTimeout.isZero() || sendTimeout.isNegative() || sendTimeout.isZero()) {
            throw new IllegalArgumentException("pollTimeout and sendTimeout must be positive, got " + pollTimeout
                    + " and " + sendTimeout);
        }
        if (maxPollRecords < 1) {
            throw new IllegalArgumentException("maxPollRecords must be >= 1, got " + maxPollRecords);
        }
    }

    /** Defaults: group {@code rehearsal-predictor-<model>}, poll 500 ms, 256 requests per poll, feedback acknowledged within 30 s. */
    public static Builder builder(SubscriberSettings subscriber) {
        return new Builder(subscriber);
    }

    public String modelId() {
        return subscriber.modelId();
    }

    /** The consumer group of this model's predictors. */
    public String groupId() {
        return groupIdPrefix + subscriber.modelId();
    }

    /** Fluent builder with DJL-style {@code opt*} setters. */
    public static final class Builder {
        private final SubscriberSettings subscriber;
        private String groupIdPrefix = "rehearsal-predictor-";
        private Duration pollTimeout = Duration.ofMillis(500);
        private int maxPollRecords = 256;
        private Duration sendTimeout = Duration.ofSeconds(30);

        private Builder(SubscriberSettings subscriber) {
            this.subscriber = subscriber;
        }

        public Builder optGroupIdPrefix(String groupIdPrefix) {
            this.groupIdPrefix = groupIdPrefix;
            return this;
        }

        public Builder optPollTimeout(Duration pollTimeout) {
            this.pollTimeout = pollTimeout;
            return this;
        }

        public Builder optMaxPollRecords(int maxPollRecords) {
            this.maxPollRecords = maxPollRecords;
            return this;
        }

        public Builder optSendTimeout(Duration sendTimeout) {
            this.sendTimeout = sendTimeout;
            return this;
        }

        public PredictorSettings build() {
            return new PredictorSettings(subscriber, groupIdPrefix, pollTimeout, maxPollRecords, sendTimeout);
        }
    }
}
