package io.rehearsal.models.subscribe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The subscriber's checks, loading and swapping, fed directly (no broker): see ModelSubscriberIT for Kafka. */
class ModelSubscriberTest {
    private static List<NamedTensor> early;
    private static List<NamedTensor> later;
    private static List<float[]> probes;
    private SimpleMeterRegistry registry;
    private ModelSubscriber subscriber;

    @BeforeAll
    static void train() {
        early = Snapshots.weights(2);
        later = Snapshots.weights(20);
        probes = Snapshots.probes(12);
    }

    @BeforeEach
    void subscriber() {
        registry = new SimpleMeterRegistry();
        subscriber = ModelSubscriber.detached(SubscriberSettings.builder("m").build(), registry);
    }

    @AfterEach
    void close() {
        subscriber.close();
    }

    private double refused(Reason reason) {
        return registry.get("rehearsal.subscriber.snapshots.refused").tag("reason", reason.name()).counter().count();
    }

    private double openModels() {
        return registry.get("rehearsal.subscriber.models.open").gauge().value();
    }

    @Test
    void shouldPredictExactlyWhatTheTrainerPredictsWithTheSameWeights() {
        // Given a trainer's weights, published inline as version 1
        assertThat(subscriber.offer(Snapshots.inline("m", 1, later, Optional.empty()), ref -> null)).isTrue();
        float[][] expected;
        try (ContinualTrainer trainer = new ContinualTrainer(Snapshots.trainer("m").optSeed(99).build())) {
            trainer.loadParameters(later);
            expected = trainer.probabilities(probes);
        }
        // When the subscriber predicts the probes in one batch
        List<ModelPrediction> predictions = subscriber.predict(probes);
        // Then every probability is the trainer's, and label, confidence and top-k follow from them
        for (int i = 0; i < probes.size(); i++) {
            ModelPrediction p = predictions.get(i);
            assertThat(p.modelVersion()).isEqualTo(1);
            float[] probabilities = p.probabilities();
            for (int k = 0; k < Snapshots.CLASSES; k++) {
                assertThat(probabilities[k]).isCloseTo(expected[i][k], within(1e-6f));
            }
            int argmax = 0;
            for (int k = 1; k < Snapshots.CLASSES; k++) {
                argmax = probabilities[k] > probabilities[argmax] ? k : argmax;
            }
            assertThat(p.label()).isEqualTo(argmax);
            assertThat(p.confidence()).isEqualTo(probabilities[argmax]);
            assertThat(p.topK()).hasSize(3).first().isEqualTo(new ModelPrediction.Score(argmax, probabilities[argmax]));
            assertThat(p.topK()).extracting(ModelPrediction.Score::probability).isSortedAccordingTo((a, b) -> Float.compare(b, a));
        }
        // and a trained model gets its own blobs right
        assertThat(predictions).extracting(ModelPrediction::label).containsExactly(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        // and a Sample is predicted the same as its features
        Sample sample = Sample.newBuilder().setId("s1").setModelId("m")
                .setFeatures(FeatureTensor.ofFloats(new int[] {Snapshots.DIMS}, probes.get(2))).setEventTime(Instant.now()).build();
        // (within float rounding: a batch of one and a batch of twelve may take different BLAS kernels)
        float[] single = subscriber.predict(sample).probabilities();
        for (int k = 0; k < Snapshots.CLASSES; k++) {
            assertThat(single[k]).isCloseTo(predictions.get(2).probabilities()[k], within(1e-6f));
        }
        assertThat(registry.get("rehearsal.subscriber.predictions").counter().count()).isEqualTo(13);
    }

    @Test
    void shouldServeOnlyNewerVersions() {
        assertThat(subscriber.offer(Snapshots.inline("m", 2, later, Optional.empty()), ref -> null)).isTrue();
        // When an older version arrives (a replay, a slow producer), Then it is ignored
        assertThat(subscriber.offer(Snapshots.inline("m", 1, early, Optional.empty()), ref -> null)).isFalse();
        assertThat(subscriber.version()).isEqualTo(2);
        assertThat(registry.get("rehearsal.subscriber.snapshots.stale").counter().count()).isEqualTo(1);
        assertThat(registry.get("rehearsal.subscriber.model.version").gauge().value()).isEqualTo(2);
    }

    @Test
    void shouldRefuseAFlippedByteInTheBlobAndKeepServingThePreviousVersion() {
        // Given version 1 served
        subscriber.offer(Snapshots.inline("m", 1, early, Optional.empty()), ref -> null);
        float[] before = subscriber.predict(probes.get(0)).probabilities();
        // When version 2 arrives with one byte of its weights flipped
        ModelSnapshot tampered = Snapshots.flipInlineByte(Snapshots.inline("m", 2, later, Optional.empty()), 200);
        // Then it is refused for its checksum, and version 1 answers as before
        assertThat(subscriber.offer(tampered, ref -> null)).isFalse();
        assertThat(refused(Reason.CHECKSUM)).isEqualTo(1);
        ModelPrediction after = subscriber.predict(probes.get(0));
        assertThat(after.modelVersion()).isEqualTo(1);
        assertThat(after.probabilities()).containsExactly(before);
        // and the intact version 2 is still welcome
        assertThat(subscriber.offer(Snapshots.inline("m", 2, later, Optional.empty()), ref -> null)).isTrue();
    }

    @Test
    void shouldReassembleChunksAndRefuseAFlippedByteInOne() {
        // Given versions 1 and 2 in 1 KiB chunks
        Snapshots.MemoryChunks topic = new Snapshots.MemoryChunks();
        byte[] blob1 = SnapshotCodec.encodeParameters(early);
        List<ChunkRef> refs1 = topic.append(SnapshotCodec.split("m", 1, blob1, 1024));
        byte[] blob2 = SnapshotCodec.encodeParameters(later);
        List<ChunkRef> refs2 = topic.append(SnapshotCodec.split("m", 2, blob2, 1024));
        assertThat(refs2).hasSizeGreaterThan(2);
        // When version 1 is offered, Then it is served from its chunks
        assertThat(subscriber.offer(Snapshots.snapshot("m", 1, Snapshots.SPEC, blob1, refs1, Optional.empty()), topic)).isTrue();
        assertThat(subscriber.current().orElseThrow().chunks()).isEqualTo(refs1.size());
        // When one byte of the second chunk of version 2 is flipped, Then version 2 is refused
        topic.flip((int) refs2.get(1).getOffset(), 10);
        assertThat(subscriber.offer(Snapshots.snapshot("m", 2, Snapshots.SPEC, blob2, refs2, Optional.empty()), topic)).isFalse();
        assertThat(refused(Reason.CHECKSUM)).isEqualTo(1);
        assertThat(subscriber.version()).isEqualTo(1);
    }

    @Test
    void shouldRefuseUnsignedAndForeignSignedSnapshotsWhenAKeyIsSet() {
        try (ModelSubscriber signed = ModelSubscriber.detached(SubscriberSettings.builder("m").optVerifyKey(Snapshots.KEY).build(),
                registry)) {
            // unsigned: refused
            assertThat(signed.offer(Snapshots.inline("m", 1, early, Optional.empty()), ref -> null)).isFalse();
            assertThat(refused(Reason.UNSIGNED)).isEqualTo(1);
            // signed with another key: refused
            assertThat(signed.offer(Snapshots.inline("m", 1, early,
                    Optional.of(new io.rehearsal.models.snapshot.SnapshotSigner("some other key, 16+ bytes"))), ref -> null)).isFalse();
            assertThat(refused(Reason.BAD_SIGNATURE)).isEqualTo(1);
            // signed with the key, then its version bumped after signing: refused
            ModelSnapshot bumped = Snapshots.inline("m", 2, early, Optional.of(Snapshots.signer()));
            bumped.setVersion(3);
            assertThat(signed.offer(bumped, ref -> null)).isFalse();
            assertThat(refused(Reason.BAD_SIGNATURE)).isEqualTo(2);
            assertThat(signed.current()).isEmpty();
            // signed with the key: served, and said so
            assertThat(signed.offer(Snapshots.inline("m", 2, early, Optional.of(Snapshots.signer())), ref -> null)).isTrue();
            assertThat(signed.current().orElseThrow().signed()).isTrue();
        }
    }

    @Test
    void shouldServeASnapshotWithOptimizerStateWithoutEverFetchingTheStateChunks() {
        // Given a signed snapshot whose optimizer state lies in chunks the subscriber must not need
        List<ChunkRef> fetched = new ArrayList<>();
        Snapshots.MemoryChunks topic = new Snapshots.MemoryChunks();
        byte[] state = SnapshotCodec.encodeParameters(List.of(new NamedTensor("momentum/02Linear_bias", new long[] {32},
                new float[32])));
        List<ChunkRef> stateRefs = topic.append(SnapshotCodec.split("m", 1, state, 64));
        ModelSnapshot snapshot = ModelSnapshot.newBuilder(Snapshots.inline("m", 1, early, Optional.empty()))
                .setOptimizerState(SnapshotCodec.blob(state, stateRefs)).build();
        snapshot.setSignature(Snapshots.signer().sign(snapshot));
        try (ModelSubscriber signed = ModelSubscriber.detached(SubscriberSettings.builder("m").optVerifyKey(Snapshots.KEY).build(),
                registry)) {
            // When it is offered, Then it is verified (the signature covers the state's hash) and served
            assertThat(signed.offer(snapshot, ref -> {
                fetched.add(ref);
                return topic.read(ref);
            })).isTrue();
            assertThat(signed.current().orElseThrow().signed()).isTrue();
            // and not one chunk was read: the weights were inline, the optimizer state is the trainer's alone
            assertThat(stateRefs).hasSizeGreaterThan(1);
            assertThat(fetched).isEmpty();
        }
    }

    @Test
    void shouldRefuseWeightsThatDoNotFitTheSpecAndLoadANewArchitecture() {
        subscriber.offer(Snapshots.inline("m", 1, early, Optional.empty()), ref -> null);
        // Given a snapshot that claims 16 hidden units but carries the weights of 32
        ModelSpec narrow = ModelSpec.mlp(Snapshots.DIMS, Snapshots.CLASSES, 16);
        ModelSnapshot lying = Snapshots.snapshot("m", 2, narrow, SnapshotCodec.encodeParameters(later), List.of(), Optional.empty());
        // Then it is refused as incompatible
        assertThat(subscriber.offer(lying, ref -> null)).isFalse();
        assertThat(refused(Reason.INCOMPATIBLE)).isEqualTo(1);
        assertThat(subscriber.version()).isEqualTo(1);
        // When a later version really has another architecture (3 classes, 8 hidden units), Then it is served
        ModelSpec other = ModelSpec.mlp(Snapshots.DIMS, 3, 8);
        List<NamedTensor> weights;
        try (ContinualTrainer t = new ContinualTrainer(io.rehearsal.models.train.TrainerSettings.builder("m", other).build())) {
            weights = t.parameters();
        }
        assertThat(subscriber.offer(Snapshots.snapshot("m", 3, other, SnapshotCodec.encodeParameters(weights), List.of(),
                Optional.empty()), ref -> null)).isTrue();
        assertThat(subscriber.predict(probes.get(0)).probabilities()).hasSize(3);
    }

    @Test
    void shouldSayWhatIsWrongWithoutAModelOrWithAnInputOfTheWrongSize() {
        assertThatThrownBy(() -> subscriber.predict(probes.get(0))).isInstanceOf(NoModelException.class)
                .hasMessageContaining("model m has no verified snapshot loaded yet");
        subscriber.offer(Snapshots.inline("m", 1, early, Optional.empty()), ref -> null);
        assertThatThrownBy(() -> subscriber.predict(new float[19])).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("input 0 has 19 features but model m version 1 takes 20 (shape [20]); check the producer's shape");
        Sample other = Sample.newBuilder().setId("s9").setModelId("n")
                .setFeatures(FeatureTensor.ofFloats(new int[] {Snapshots.DIMS}, probes.get(0))).setEventTime(Instant.now()).build();
        assertThatThrownBy(() -> subscriber.predict(other)).hasMessage("sample s9 is for model n but this subscriber serves model m");
    }

    @Test
    void shouldCloseEveryRetiredVersionAndTellListeners() {
        List<String> heard = new ArrayList<>();
        subscriber.addListener(new ModelListener() {
            @Override
            public void onNewVersion(ModelInfo previous, ModelInfo current) {
                heard.add((previous == null ? "none" : previous.version()) + "->" + current.version());
            }

            @Override
            public void onRefused(String modelId, long version, Reason reason, String message) {
                heard.add("refused " + version + " " + reason);
            }
        });
        for (int v = 1; v <= 5; v++) {
            subscriber.offer(Snapshots.inline("m", v, v % 2 == 0 ? early : later, Optional.empty()), ref -> null);
            subscriber.predict(probes.get(0));
        }
        subscriber.offer(Snapshots.flipInlineByte(Snapshots.inline("m", 6, later, Optional.empty()), 300), ref -> null);
        assertThat(heard).containsExactly("none->1", "1->2", "2->3", "3->4", "4->5", "refused 6 CHECKSUM");
        assertThat(openModels()).isEqualTo(1);
        assertThat(registry.get("rehearsal.subscriber.swaps").counter().count()).isEqualTo(5);
        subscriber.close();
        assertThat(openModels()).isZero();
        assertThatThrownBy(() -> subscriber.predict(probes.get(0))).isInstanceOf(NoModelException.class);
    }
}
