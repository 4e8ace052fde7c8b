package io.rehearsal.models.promote;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelListener;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.util.List;
import java.util.Optional;

/**
 * Loads model versions exactly as services load them (a detached {@link ModelSubscriber}: the same checks,
 * signature included, and the same network) and evaluates them on the held-out set: the candidate, and the
 * promoted version on the same samples. The promoted version stays loaded between candidates, and its
 * evaluation is reused while the held-out set does not change.
 */
final class Judge implements AutoCloseable {
    /** What evaluating a candidate gave: its evaluation, or why it could not be loaded. */
    record Outcome(Optional<Evaluation> candidate, Optional<Evaluation> promoted, String refusal) {
    }

    private final SubscriberSettings settings;
    private final ChunkSource chunks;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private ModelSubscriber baseline;
    private Evaluation baselineEvaluation;
    private ModelSubscriber pending;

    Judge(String modelId, Optional<String> key, int threads, ChunkSource chunks) {
        this.settings = SubscriberSettings.builder(modelId).optVerifyKey(key.orElse(null)).optThreads(threads)
                .optFollow(Follow.LATEST).build();
        this.chunks = chunks;
    }

    /**
     * Loads and evaluates {@code candidate}, and the promoted version ({@code promoted}, loaded first if it is
     * not) on the same samples. The candidate stays loaded until {@link #promoted} or {@link #discard}.
     */
    Outcome evaluate(ModelSnapshot candidate, HeldOutSet set, Optional<ModelSnapshot> promoted) {
        discard();
        String[] refusal = new String[1];
        ModelSubscriber model = load(candidate, refusal);
        if (model == null) {
            return new Outcome(Optional.empty(), Optional.empty(), refusal[0]);
        }
        pending = model;
        Evaluation c = Evaluations.evaluate(candidate.getVersion(), set, inputs -> predict(model, inputs));
        return new Outcome(Optional.of(c), promoted.flatMap(p -> baselineOn(p, set)), null);
    }

    /** The promoted version's evaluation on {@code set} (loading it if another version is loaded). */
    Optional<Evaluation> baselineOn(ModelSnapshot promoted, HeldOutSet set) {
        if (baseline == null || baseline.version() != promoted.getVersion()) {
            close(baseline);
            baseline = null;
            baselineEvaluation = null;
            String[] refusal = new String[1];
            baseline = load(promoted, refusal);
            if (baseline == null) {
                throw new SnapshotFormatException(SnapshotFormatException.Reason.MISSING_CHUNK, "the promoted version "
                        + promoted.getVersion() + " of model " + promoted.getModelId() + " cannot be loaded to compare "
                        + "candidates with: " + refusal[0]);
            }
        }
        if (baselineEvaluation == null || baselineEvaluation.getEvalOffset() != set.offset()
                || baselineEvaluation.getSamples() != set.size()) {
            ModelSubscriber b = baseline;
            baselineEvaluation = Evaluations.evaluate(promoted.getVersion(), set, inputs -> predict(b, inputs));
        }
        return Optional.of(baselineEvaluation);
    }

    /** The candidate of {@code version} was promoted: it is the baseline from now on. */
    void promoted(long version) {
        if (pending != null && pending.version() == version) {
            close(baseline);
            baseline = pending;
            baselineEvaluation = null;
            pending = null;
        } else {
            discard();
        }
    }

    /** Closes the candidate loaded last, if it was not promoted. */
    void discard() {
        close(pending);
        pending = null;
    }

    private ModelSubscriber load(ModelSnapshot snapshot, String[] refusal) {
        ModelSubscriber m = ModelSubscriber.detached(settings, registry);
        m.addListener(new ModelListener() {
            @Override
            public void onNewVersion(ModelInfo previous, ModelInfo current) {
            }

            @Override
            public void onRefused(String modelId, long version, SnapshotFormatException.Reason reason, String message) {
                refusal[0] = reason + ": " + message;
            }
        });
        if (m.offer(snapshot, chunks)) {
            return m;
        }
        m.close();
        if (refusal[0] == null) {
            refusal[0] = "it was not loaded";
        }
        return null;
    }

    private static int[] predict(ModelSubscriber model, List<float[]> inputs) {
        return model.predict(inputs).stream().mapToInt(ModelPrediction::label).toArray();
    }

    private static void close(ModelSubscriber m) {
        if (m != null) {
            m.close();
        }
    }

    @Override
    public void close() {
        discard();
        close(baseline);
        baseline = null;
        registry.close();
    }
}
