package io.rehearsal.models.subscribe;

import ai.djl.engine.Engine;
import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.runtime.TorchRuntime;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Follows one model and serves, for prediction, the version the promoter promoted (on
 * {@code rehearsal.model-promotions}; the default) or the newest verified snapshot on
 * {@code rehearsal.model-updates} ({@link Follow#LATEST}), swapping each new version in atomically.
 *
 * <pre>{@code
 * SubscriberSettings settings = SubscriberSettings.builder("fashion").optVerifyKey(key).build();
 * try (ModelSubscriber models = ModelSubscriber.start(settings, Topics.defaults(), "localhost:9092", Map.of(), registry)) {
 *     models.addListener((previous, current) -> log.info("now serving {}", current));
 *     ModelPrediction p = models.predict(sample);   // p.label(), p.confidence(), p.topK(), p.modelVersion()
 *     models.current().ifPresent(info -> log.info("version {} from {}", info.version(), info.provenance()));
 * }
 * }</pre>
 *
 * <p>A facade over the two halves: {@code SnapshotFollower} (the Kafka side) and {@code HotSwapModel} (what is
 * served, and how a version replaces it).
 *
 * <p><b>Start.</b> {@link #start} reads the model's partition of the compacted topic from the beginning to
 * its end and loads the newest snapshot there (falling back to an older one still on the topic if the
 * newest is refused), so a started subscriber serves at once; then it follows new snapshots on its own
 * thread. It reads {@code read_committed} without a consumer group, so aborted snapshots are never seen
 * and any number of subscribers can follow the same model.
 *
 * <p><b>Each snapshot</b> newer than the one served is verified before anything else happens: format
 * version, HMAC-SHA256 signature when a key is configured (unsigned snapshots are then refused too),
 * every chunk's identity, size and SHA-256, and the whole blob's. Its weights are loaded into a DJL
 * model built from the snapshot's own spec. Only then is it swapped in, by one atomic reference update:
 * a prediction runs on exactly one version from start to end, and the retired version is closed when
 * the last prediction using it finishes (reference counting). A snapshot that fails any check is
 * refused with a log line naming the reason, counted in {@code rehearsal.subscriber.snapshots.refused},
 * reported to listeners, and the previous version keeps serving. Versions only move forward.
 *
 * <p>Thread-safe: predict from any number of threads. Listeners run on the subscriber's thread.
 */
public final class ModelSubscriber implements AutoCloseable {
    private final HotSwapModel model;
    private final SnapshotFollower follower;

    private ModelSubscriber(HotSwapModel model, SnapshotFollower follower) {
        this.model = model;
        this.follower = follower;
    }

    private static HotSwapModel model(SubscriberSettings settings, MeterRegistry registry) {
        Engine engine = TorchRuntime.engine(settings.threads(), 1);
        return new HotSwapModel(settings, new SubscriberMetrics(registry, settings.modelId(), settings.follow(),
                java.time.Clock.systemUTC()), TorchRuntime.device(engine));
    }

    /**
     * Subscribes to {@code settings.modelId()} and returns once the latest snapshot on the topic is
     * served (or {@code settings.startTimeout()} passed: then the first snapshot to arrive is served).
     *
     * @param kafkaProperties extra consumer settings (TLS, SASL...); the subscriber never joins a group
     * @param registry        where the {@code rehearsal.subscriber.*} meters go
     */
    public static ModelSubscriber start(SubscriberSettings settings, Topics topics, String bootstrapServers,
                                        Map<String, Object> kafkaProperties, MeterRegistry registry) {
        HotSwapModel model = model(settings, registry);
        return new ModelSubscriber(model, SnapshotFollower.start(settings, topics, model, bootstrapServers, kafkaProperties));
    }

    /**
     * A subscriber without Kafka: it serves what is {@link #offer offered} to it (snapshots read from a
     * file, a test, another transport), with the same checks and swaps.
     */
    public static ModelSubscriber detached(SubscriberSettings settings, MeterRegistry registry) {
        return new ModelSubscriber(model(settings, registry), null);
    }

    /** The model this subscriber follows. */
    public String modelId() {
        return model.modelId();
    }

    /** What is served now; empty before the first verified snapshot. */
    public Optional<ModelInfo> current() {
        return model.current();
    }

    /** The version served now; 0 before the first verified snapshot. */
    public long version() {
        return model.version();
    }

    /** Which versions it serves: the promoted one (the default) or the latest candidate. */
    public Follow follow() {
        return model.follow();
    }

    /**
     * The release state the newest promotion applied states (promoted and latest versions, pinned, held back
     * since); empty when following the latest candidate, detached, or before the first promotion.
     */
    public Optional<io.rehearsal.models.release.ReleaseState> release() {
        return follower == null ? Optional.empty() : follower.release();
    }

    /** True while a model is served and the subscriber still follows the topic. */
    public boolean ready() {
        return model.serving() && failure().isEmpty();
    }

    /** Why the subscriber stopped following the topic, if it did (it keeps serving its last version). */
    public Optional<RuntimeException> failure() {
        return follower == null ? Optional.empty() : follower.failure();
    }

    /** Waits until a version of at least {@code version} is served; false if the timeout passed first. */
    public boolean awaitVersion(long version, Duration timeout) throws InterruptedException {
        return model.awaitVersion(version, timeout);
    }

    public void addListener(ModelListener listener) {
        model.addListener(listener);
    }

    public void removeListener(ModelListener listener) {
        model.removeListener(listener);
    }

    /**
     * Predicts one sample with the version served now.
     *
     * @throws NoModelException         before the first verified snapshot
     * @throws IllegalArgumentException if the sample is for another model or its features do not fit
     */
    public ModelPrediction predict(Sample sample) {
        return predictSamples(List.of(sample)).get(0);
    }

    /** Predicts samples in one forward pass, all with the same version (see {@link #predict(Sample)}). */
    public List<ModelPrediction> predictSamples(List<Sample> samples) {
        return model.predictSamples(samples);
    }

    /** Predicts one input of {@code spec.inputSize()} floats (row-major, any shape with that many elements). */
    public ModelPrediction predict(float[] features) {
        return predict(List.of(features)).get(0);
    }

    /**
     * Predicts inputs in one forward pass, all with the same version.
     *
     * @throws NoModelException         before the first verified snapshot
     * @throws IllegalArgumentException naming the first input whose size does not fit the served model
     */
    public List<ModelPrediction> predict(List<float[]> inputs) {
        return model.predict(inputs);
    }

    /** The number of input elements the served model takes, if one is served. */
    public Optional<Integer> inputSize() {
        return model.inputSize();
    }

    /**
     * Verifies, loads and swaps in a snapshot, exactly as one read from Kafka; does nothing if it is not
     * newer than the version served.
     *
     * @param chunks where its chunks are read, if it has any
     * @return true if it is served now; false if it was not newer or was refused (see the log and metrics)
     */
    public boolean offer(ModelSnapshot snapshot, ChunkSource chunks) {
        return model.offer(snapshot, chunks, "an offered snapshot");
    }

    /** Stops following the topic and closes the served model once no prediction uses it. */
    @Override
    public void close() {
        try {
            if (follower != null) {
                follower.close();
            }
        } finally {
            model.close();
        }
    }
}
