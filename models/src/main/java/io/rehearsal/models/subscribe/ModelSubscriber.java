package io.rehearsal.models.subscribe;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.models.runtime.TorchRuntime;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one model's snapshots on {@code rehearsal.model-updates} and serves the newest verified one
 * for prediction, swapping each new version in atomically.
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
    private static final Logger LOG = LoggerFactory.getLogger(ModelSubscriber.class);
    /** Snapshots of the model kept while reading to the end on start, to fall back on if the newest is refused. */
    private static final int START_CANDIDATES = 4;
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** How long {@link #close} waits for the consumer (and its thread): a stopping process must be gone within 5 s. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

    private final SubscriberSettings settings;
    private final SubscriberMetrics metrics;
    private final Optional<SnapshotSigner> verifier;
    private final Device device;
    private final AtomicReference<ServedModel> current = new AtomicReference<>();
    private final List<ModelListener> listeners = new CopyOnWriteArrayList<>();
    private final Object swapLock = new Object();
    private final Object versionMonitor = new Object();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final CountDownLatch closeSignal = new CountDownLatch(1);
    private final Topics topics;
    private final Consumer<byte[], byte[]> consumer;
    private final SnapshotReader chunkReader;
    private final Thread thread;
    private volatile boolean closing;
    private volatile RuntimeException failure;

    private ModelSubscriber(SubscriberSettings settings, MeterRegistry registry, Topics topics,
                            Consumer<byte[], byte[]> consumer, SnapshotReader chunkReader) {
        this.settings = settings;
        this.metrics = new SubscriberMetrics(registry, settings.modelId());
        this.verifier = settings.verifyKey().map(SnapshotSigner::new);
        Engine engine = TorchRuntime.engine(settings.threads(), 1);
        this.device = TorchRuntime.device(engine);
        this.topics = topics;
        this.consumer = consumer;
        this.chunkReader = chunkReader;
        this.thread = consumer == null ? null : new Thread(this::follow, "subscriber-" + settings.modelId());
        if (thread != null) {
            thread.setDaemon(true);
        }
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
        Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig(settings, bootstrapServers, kafkaProperties));
        SnapshotReader chunks;
        ModelSubscriber subscriber;
        try {
            chunks = SnapshotReader.create(topics, bootstrapServers, kafkaProperties, settings.readTimeout());
        } catch (RuntimeException e) {
            consumer.close();
            throw e;
        }
        try {
            subscriber = new ModelSubscriber(settings, registry, topics, consumer, chunks);
        } catch (RuntimeException e) {
            consumer.close();
            chunks.close();
            throw e;
        }
        subscriber.thread.start();
        try {
            if (!subscriber.caughtUp.await(settings.startTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("model {}: no snapshot loaded within {} (is {} there, and has the trainer published?); "
                                + "the first snapshot to arrive will be served", settings.modelId(),
                        settings.startTimeout(), topics.modelUpdates().name());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return subscriber;
    }

    /**
     * A subscriber without Kafka: it serves what is {@link #offer offered} to it (snapshots read from a
     * file, a test, another transport), with the same checks and swaps.
     */
    public static ModelSubscriber detached(SubscriberSettings settings, MeterRegistry registry) {
        ModelSubscriber subscriber = new ModelSubscriber(settings, registry, null, null, null);
        subscriber.caughtUp.countDown();
        return subscriber;
    }

    private static Map<String, Object> consumerConfig(SubscriberSettings settings, String bootstrapServers,
                                                      Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "rehearsal-subscriber-" + settings.modelId() + "-"
                + INSTANCES.incrementAndGet());
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(extra);
        // not negotiable: no group (every subscriber reads the whole model history itself), never
        // aborted snapshots, and never a topic auto-created without compaction
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    /** The model this subscriber follows. */
    public String modelId() {
        return settings.modelId();
    }

    /** What is served now; empty before the first verified snapshot. */
    public Optional<ModelInfo> current() {
        ServedModel m = current.get();
        return m == null ? Optional.empty() : Optional.of(m.info());
    }

    /** The version served now; 0 before the first verified snapshot. */
    public long version() {
        ServedModel m = current.get();
        return m == null ? 0 : m.info().version();
    }

    /** True while a model is served and the subscriber still follows the topic. */
    public boolean ready() {
        return current.get() != null && failure == null && !closing;
    }

    /** Why the subscriber stopped following the topic, if it did (it keeps serving its last version). */
    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    /** Waits until a version of at least {@code version} is served; false if the timeout passed first. */
    public boolean awaitVersion(long version, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (versionMonitor) {
            while (version() < version) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(versionMonitor, left);
            }
            return true;
        }
    }

    public void addListener(ModelListener listener) {
        listeners.add(listener);
    }

    public void removeListener(ModelListener listener) {
        listeners.remove(listener);
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
        List<float[]> inputs = new ArrayList<>(samples.size());
        for (Sample s : samples) {
            if (!settings.modelId().equals(s.getModelId())) {
                throw new IllegalArgumentException("sample " + s.getId() + " is for model " + s.getModelId()
                        + " but this subscriber serves model " + settings.modelId());
            }
            FeatureTensor.validate(s.getFeatures(), s.getId());
            inputs.add(FeatureTensor.toFloats(s.getFeatures()));
        }
        return predict(inputs);
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
        long started = System.nanoTime();
        ServedModel model = acquire();
        try {
            List<ModelPrediction> out = model.predict(inputs, settings.topK());
            metrics.predicted(inputs.size(), System.nanoTime() - started);
            return out;
        } finally {
            model.release();
        }
    }

    /** The number of input elements the served model takes, if one is served. */
    public Optional<Integer> inputSize() {
        ServedModel m = current.get();
        return m == null ? Optional.empty() : Optional.of(m.inputSize());
    }

    private ServedModel acquire() {
        while (true) {
            ServedModel m = current.get();
            if (m == null) {
                throw new NoModelException(settings.modelId());
            }
            if (m.retain()) {
                return m;
            }
            // retired and closed between the read and the retain: its successor is already current
        }
    }

    /**
     * Verifies, loads and swaps in a snapshot, exactly as one read from Kafka; does nothing if it is not
     * newer than the version served.
     *
     * @param chunks where its chunks are read, if it has any
     * @return true if it is served now; false if it was not newer or was refused (see the log and metrics)
     */
    public boolean offer(ModelSnapshot snapshot, ChunkSource chunks) {
        return offer(snapshot, chunks, "an offered snapshot");
    }

    private boolean offer(ModelSnapshot snapshot, ChunkSource chunks, String where) {
        synchronized (swapLock) {
            if (closing) {
                return false;
            }
            long started = System.nanoTime();
            if (!settings.modelId().equals(snapshot.getModelId())) {
                refuse(snapshot.getVersion(), new SnapshotFormatException(Reason.MALFORMED, String.format(
                        "%s holds a snapshot of model %s, not of %s; the record key and its content disagree",
                        where, snapshot.getModelId(), settings.modelId())));
                return false;
            }
            long served = version();
            if (snapshot.getVersion() <= served) {
                metrics.stale();
                LOG.debug("model {}: ignoring version {} from {}: version {} is served already", settings.modelId(),
                        snapshot.getVersion(), where, served);
                return false;
            }
            ServedModel next;
            try {
                List<NamedTensor> tensors = SnapshotCodec.parameters(snapshot, chunks, verifier);
                next = ServedModel.load(ModelInfo.of(snapshot, verifier.isPresent(), Instant.now()), tensors, device,
                        metrics::closed);
                metrics.opened();
            } catch (SnapshotFormatException e) {
                refuse(snapshot.getVersion(), e);
                return false;
            } catch (IllegalArgumentException | EngineException e) {
                refuse(snapshot.getVersion(), new SnapshotFormatException(Reason.INCOMPATIBLE, String.format(
                        "snapshot %s version %d cannot be loaded into the network its spec describes: %s",
                        snapshot.getModelId(), snapshot.getVersion(), e.getMessage()), e));
                return false;
            }
            ServedModel previous = current.getAndSet(next);
            ModelInfo info = next.info();
            metrics.swapped(info, System.nanoTime() - started);
            LOG.info("model {}: serving version {} (step {}, {}, sha256 {}{}) {}; verified and loaded in {} ms",
                    settings.modelId(), info.version(), info.step(), info.spec(), info.sha256(),
                    info.signed() ? ", signature verified" : "", previous == null ? "as the first version"
                            : "in place of version " + previous.info().version(),
                    (System.nanoTime() - started) / 1_000_000);
            if (previous != null) {
                previous.release(); // closed now, or when the last prediction on it finishes
            }
            synchronized (versionMonitor) {
                versionMonitor.notifyAll();
            }
            ModelInfo before = previous == null ? null : previous.info();
            for (ModelListener l : listeners) {
                try {
                    l.onNewVersion(before, info);
                } catch (RuntimeException e) {
                    LOG.warn("model {}: a listener failed on version {}: {}", settings.modelId(), info.version(), e.toString());
                }
            }
            return true;
        }
    }

    private void refuse(long version, SnapshotFormatException e) {
        metrics.refused(e.reason());
        LOG.warn("model {}: REFUSED snapshot version {} ({}): {}; {}", settings.modelId(), version, e.reason(),
                e.getMessage(), version() == 0 ? "no version is served yet" : "version " + version() + " keeps serving");
        for (ModelListener l : listeners) {
            try {
                l.onRefused(settings.modelId(), version, e.reason(), e.getMessage());
            } catch (RuntimeException le) {
                LOG.warn("model {}: a listener failed on a refusal: {}", settings.modelId(), le.toString());
            }
        }
    }

    /** The subscriber thread: read to the end, serve the newest snapshot, then follow. */
    private void follow() {
        try {
            TopicPartition tp = awaitPartition();
            if (tp == null) {
                return;
            }
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            catchUp(tp);
            caughtUp.countDown();
            while (!closing) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(settings.pollTimeout())) {
                    if (isOurs(r)) {
                        apply(r);
                    }
                }
            }
        } catch (WakeupException e) {
            if (!closing) {
                fail(e);
            }
        } catch (RuntimeException e) {
            fail(e);
        } finally {
            caughtUp.countDown();
            try {
                consumer.close(CloseOptions.timeout(CLOSE_WAIT)); // no group to leave: fast unless the broker is gone
            } finally {
                chunkReader.close();
            }
        }
    }

    private void fail(RuntimeException e) {
        failure = e;
        LOG.error("model {}: the subscriber stopped following {}: {}; version {} keeps serving but no newer one "
                + "will be seen: restart the process", settings.modelId(), topics.modelUpdates().name(), e.toString(), version(), e);
    }

    private TopicPartition awaitPartition() {
        String topic = topics.modelUpdates().name();
        boolean logged = false;
        while (!closing) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, settings.readTimeout());
            if (partitions != null && !partitions.isEmpty()) {
                int p = SnapshotReader.partitionFor(topics.modelUpdates().serializeKey(settings.modelId()), partitions.size());
                return new TopicPartition(topic, p);
            }
            if (!logged) {
                LOG.warn("model {}: topic {} does not exist yet; waiting for it (the trainer or `rehearsal broker` "
                        + "creates it)", settings.modelId(), topic);
                logged = true;
            }
            try {
                if (closeSignal.await(1, TimeUnit.SECONDS)) {
                    return null;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    private void catchUp(TopicPartition tp) {
        long end = consumer.endOffsets(List.of(tp), settings.readTimeout()).get(tp); // last stable offset
        Deque<ConsumerRecord<byte[], byte[]>> recent = new ArrayDeque<>();
        long deadline = System.nanoTime() + settings.startTimeout().toNanos();
        while (!closing && consumer.position(tp, settings.readTimeout()) < end) {
            if (System.nanoTime() > deadline) {
                LOG.warn("model {}: could not read {} to offset {} within {}; serving the newest snapshot read so far",
                        settings.modelId(), tp, end, settings.startTimeout());
                break;
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (isOurs(r)) {
                    recent.addLast(r);
                    if (recent.size() > START_CANDIDATES) {
                        recent.removeFirst();
                    }
                }
            }
        }
        LOG.info("model {}: read {} to offset {}: {}", settings.modelId(), tp, consumer.position(tp),
                recent.isEmpty() ? "no snapshot of the model yet" : "loading the newest snapshot");
        for (Iterator<ConsumerRecord<byte[], byte[]>> it = recent.descendingIterator(); it.hasNext() && !closing; ) {
            if (apply(it.next())) {
                break;
            }
        }
    }

    private boolean isOurs(ConsumerRecord<byte[], byte[]> r) {
        return r.key() != null && Arrays.equals(r.key(), topics.modelUpdates().serializeKey(settings.modelId()));
    }

    private boolean apply(ConsumerRecord<byte[], byte[]> r) {
        String where = String.format("%s-%d@%d", r.topic(), r.partition(), r.offset());
        if (r.value() == null) {
            LOG.info("model {}: tombstone at {}: the model was deleted from the topic; version {} keeps serving",
                    settings.modelId(), where, version());
            return false;
        }
        ModelSnapshot snapshot;
        try {
            snapshot = topics.modelUpdates().deserializeValue(r.value());
        } catch (RuntimeException e) {
            refuse(-1, new SnapshotFormatException(Reason.MALFORMED, "the record at " + where
                    + " does not decode as a ModelSnapshot (" + e.getMessage() + "); was it written by a rehearsal trainer?", e));
            return false;
        }
        return offer(snapshot, chunkReader, where);
    }

    /** Stops following the topic and closes the served model once no prediction uses it. */
    @Override
    public void close() {
        closing = true;
        closeSignal.countDown();
        if (thread != null) {
            consumer.wakeup();
            try {
                thread.join(CLOSE_WAIT.toMillis() + 500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                // a daemon thread loading a snapshot or reading chunks: it sees `closing` and serves nothing more
                LOG.warn("model {}: the subscriber thread did not stop within {} ms; closing without it", settings.modelId(),
                        CLOSE_WAIT.toMillis() + 500);
            }
        }
        synchronized (swapLock) {
            ServedModel m = current.getAndSet(null);
            if (m != null) {
                m.release();
            }
        }
    }
}
