package io.rehearsal.models.subscribe;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.net.TorchScriptModule;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model a subscriber serves, and how a new version replaces it: each snapshot newer than the one
 * served is verified (format, signature when a key is configured, every chunk's and the blob's SHA-256),
 * loaded into a DJL model built from its own spec, and only then swapped in by one atomic reference
 * update. A prediction runs on exactly one version from start to end; the retired version is closed when
 * the last prediction using it finishes (reference counting). A snapshot that fails a check is refused
 * (logged, counted, told to listeners) and the previous version keeps serving. No Kafka here: {@link
 * SnapshotFollower} feeds it from the topic, {@link ModelSubscriber#offer} from anywhere else.
 */
final class HotSwapModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HotSwapModel.class);

    private final SubscriberSettings settings;
    private final SubscriberMetrics metrics;
    private final Optional<SnapshotSigner> verifier;
    private final Device device;
    private final AtomicReference<ServedModel> current = new AtomicReference<>();
    private final List<ModelListener> listeners = new CopyOnWriteArrayList<>();
    private final Object swapLock = new Object();
    private final Object versionMonitor = new Object();
    private volatile boolean closing;
    /** The TorchScript module last read (under swapLock): later snapshots of the model name the same one. */
    private TorchScriptModule lastModule;

    HotSwapModel(SubscriberSettings settings, SubscriberMetrics metrics, Device device) {
        this.settings = settings;
        this.metrics = metrics;
        this.verifier = settings.verifyKey().map(SnapshotSigner::new);
        this.device = device;
    }

    String modelId() {
        return settings.modelId();
    }

    Follow follow() {
        return settings.follow();
    }

    Optional<ModelInfo> current() {
        ServedModel m = current.get();
        return m == null ? Optional.empty() : Optional.of(m.info());
    }

    long version() {
        ServedModel m = current.get();
        return m == null ? 0 : m.info().version();
    }

    boolean serving() {
        return current.get() != null && !closing;
    }

    boolean awaitVersion(long version, Duration timeout) throws InterruptedException {
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

    void addListener(ModelListener listener) {
        listeners.add(listener);
    }

    void removeListener(ModelListener listener) {
        listeners.remove(listener);
    }

    List<ModelPrediction> predictSamples(List<Sample> samples) {
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

    List<ModelPrediction> predict(List<float[]> inputs) {
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

    Optional<Integer> inputSize() {
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
     * Verifies, loads and swaps in a snapshot; does nothing if it is not newer than the version served.
     *
     * @param chunks where its chunks are read, if it has any
     * @param where  where it came from, for the log
     * @return true if it is served now; false if it was not newer or was refused
     */
    boolean offer(ModelSnapshot snapshot, ChunkSource chunks, String where) {
        return offer(snapshot, chunks, where, false);
    }

    /**
     * Verifies, loads and swaps in the snapshot a promotion names, newer or older than the one served (a
     * rollback goes back); does nothing if that very version is served.
     *
     * @return true if it is served now (or was already)
     */
    boolean serve(ModelSnapshot snapshot, ChunkSource chunks, String where) {
        return version() == snapshot.getVersion() || offer(snapshot, chunks, where, true);
    }

    private boolean offer(ModelSnapshot snapshot, ChunkSource chunks, String where, boolean anyVersion) {
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
            if (anyVersion ? snapshot.getVersion() == served : snapshot.getVersion() <= served) {
                metrics.stale();
                LOG.debug("model {}: ignoring version {} from {}: version {} is served already", settings.modelId(),
                        snapshot.getVersion(), where, served);
                return false;
            }
            ServedModel next;
            try {
                List<NamedTensor> tensors = SnapshotCodec.parameters(snapshot, chunks, verifier);
                Optional<TorchScriptModule> module = architecture(snapshot, chunks);
                next = ServedModel.load(ModelInfo.of(snapshot, verifier.isPresent(), Instant.now()), tensors, module,
                        device, metrics::closed);
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
            swapIn(next, started);
            return true;
        }
    }

    /**
     * The TorchScript module of a snapshot of a user's network: the one already loaded when the signed spec names the
     * same SHA-256 (snapshots of one model share it), else read from its chunks and verified; empty for a built-in
     * network.
     */
    private Optional<TorchScriptModule> architecture(ModelSnapshot snapshot, ChunkSource chunks) {
        String sha = snapshot.getSpec().getOptions().get(ModelSpec.SHA256);
        TorchScriptModule known = lastModule;
        if (known != null && known.sha256().equals(sha) && snapshot.getArchitecture() != null
                && sha.equals(snapshot.getArchitecture().getSha256())) {
            return Optional.of(known);
        }
        Optional<TorchScriptModule> module = SnapshotCodec.readArchitecture(snapshot, chunks, verifier)
                .map(TorchScriptModule::of);
        module.ifPresent(m -> lastModule = m);
        return module;
    }

    private void swapIn(ServedModel next, long started) {
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
    }

    /** Refuses a snapshot: counted, logged, told to listeners; the version served keeps serving. */
    void refuse(long version, SnapshotFormatException e) {
        refuse(version, e, "snapshot");
    }

    /** Refuses a snapshot or a promotion ({@code what}): counted, logged, told to listeners. */
    void refuse(long version, SnapshotFormatException e, String what) {
        if (what.equals("promotion")) {
            metrics.promotionRefused(e.reason());
        } else {
            metrics.refused(e.reason());
        }
        LOG.warn("model {}: REFUSED {} {} ({}): {}; {}", settings.modelId(), what.equals("promotion") ? "promotion"
                        : "snapshot version", version, e.reason(),
                e.getMessage(), version() == 0 ? "no version is served yet" : "version " + version() + " keeps serving");
        for (ModelListener l : listeners) {
            try {
                l.onRefused(settings.modelId(), version, e.reason(), e.getMessage());
            } catch (RuntimeException le) {
                LOG.warn("model {}: a listener failed on a refusal: {}", settings.modelId(), le.toString());
            }
        }
    }

    SubscriberMetrics metrics() {
        return metrics;
    }

    /** Takes no new version, and closes the served one once no prediction uses it. */
    @Override
    public void close() {
        closing = true;
        synchronized (swapLock) {
            ServedModel m = current.getAndSet(null);
            if (m != null) {
                m.release();
            }
        }
    }
}
