package io.rehearsal.bench.experiment;

import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Evaluates the model the way services see it: through a {@link ModelSubscriber} that follows
 * {@code model-updates}, verifies each snapshot and hot-swaps it. {@link #refresh} tells whether a newer
 * version is being served since the last call.
 */
final class SnapshotEvaluator implements AutoCloseable {
    private final ModelSubscriber subscriber;
    private long seenVersion;

    SnapshotEvaluator(String modelId, Topics topics, String bootstrap, Map<String, Object> clientProperties, MeterRegistry registry) {
        this.subscriber = ModelSubscriber.start(SubscriberSettings.builder(modelId).optFollow(Follow.LATEST).optStartTimeout(Duration.ofMillis(200)).build(),
                topics, bootstrap, clientProperties, registry);
    }

    /** Whether a version newer than at the last call is now served. */
    boolean refresh() {
        long v = subscriber.version();
        if (v > seenVersion) {
            seenVersion = v;
            return true;
        }
        return false;
    }

    /** Waits until the subscriber serves at least {@code version} (the one a catch-up guaranteed is published). */
    void awaitVersion(long version) throws InterruptedException {
        if (!subscriber.awaitVersion(version, Duration.ofMinutes(1))) {
            throw new IllegalStateException("the subscriber did not load version " + version + " within a minute");
        }
        refresh();
    }

    long version() {
        return subscriber.current().map(ModelInfo::version).orElse(0L);
    }

    /** What the subscriber serves now, if anything. */
    java.util.Optional<ModelInfo> info() {
        return subscriber.current();
    }

    long step() {
        return subscriber.current().map(ModelInfo::step).orElse(0L);
    }

    int[] predict(List<float[]> inputs) {
        return subscriber.predict(inputs).stream().mapToInt(ModelPrediction::label).toArray();
    }

    @Override
    public void close() {
        subscriber.close();
    }
}
