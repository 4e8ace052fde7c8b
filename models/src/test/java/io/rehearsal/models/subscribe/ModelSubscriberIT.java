package io.rehearsal.models.subscribe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The subscriber against a real broker and real trainers: start, hot swap under load, tampered snapshots. */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ModelSubscriberIT {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static TrainerSettings trainerSettings(String modelId) {
        return Snapshots.trainer(modelId)
                .optSnapshotEvery(1, Duration.ofHours(1)) // one snapshot per step
                .optChunking(1024, 1024) // ~3.5 KB of weights: every snapshot in chunks
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-")
                .optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .build();
    }

    private static void produceBatch(KafkaCluster kafka, Topics topics, TrainBatch batch) {
        TestRecords.produce(kafka, topics.trainBatches(), Map.of(batch.getModelId(), batch));
    }

    private static void pollUntil(TrainerApp app, BooleanSupplier done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("deadline").isLessThan(deadline);
            app.pollOnce();
        }
    }

    private static SubscriberSettings.Builder subscriber(String modelId) {
        return SubscriberSettings.builder(modelId).optFollow(Follow.LATEST).optPollTimeout(Duration.ofMillis(100)).optStartTimeout(WAIT);
    }

    @Test
    void shouldServeTheLatestSnapshotAtOnceOnStart(KafkaCluster kafka) {
        // Given a trainer that published versions 1..3 in chunks, and its predictions for some probes
        Topics topics = kafka.newTopics();
        SyntheticStream stream = new SyntheticStream("start", Snapshots.DIMS, Snapshots.CLASSES, 1);
        List<float[]> probes = Snapshots.probes(8);
        float[][] expected;
        try (TrainerApp app = new TrainerApp(trainerSettings("start"), topics, kafka.bootstrapServers(), Map.of(),
                new SimpleMeterRegistry())) {
            for (int i = 0; i < 3; i++) {
                produceBatch(kafka, topics, stream.trainBatch(8, 2));
            }
            pollUntil(app, () -> app.version() == 3);
            expected = app.trainer().probabilities(probes);
        }
        // When a subscriber starts
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ModelSubscriber subscriber = ModelSubscriber.start(subscriber("start").build(), topics,
                kafka.bootstrapServers(), Map.of(), registry)) {
            // Then it serves version 3 as soon as start returns, with the trainer's exact predictions
            assertThat(subscriber.version()).isEqualTo(3);
            assertThat(subscriber.ready()).isTrue();
            ModelInfo info = subscriber.current().orElseThrow();
            assertThat(info.step()).isEqualTo(3);
            assertThat(info.chunks()).isGreaterThan(1);
            assertThat(info.provenance().getDjlVersion()).isEqualTo("0.36.0");
            List<ModelPrediction> predictions = subscriber.predict(probes);
            for (int i = 0; i < probes.size(); i++) {
                float[] p = predictions.get(i).probabilities();
                for (int k = 0; k < Snapshots.CLASSES; k++) {
                    assertThat(p[k]).isCloseTo(expected[i][k], within(1e-6f));
                }
            }
            assertThat(registry.get("rehearsal.subscriber.swaps").counter().count()).isEqualTo(1);
        }
    }

    @Test
    void shouldFallBackToAnOlderSnapshotOnStartWhenTheNewestIsTampered(KafkaCluster kafka) throws Exception {
        // Given version 1 intact and version 2 with one flipped byte, both on the topic
        Topics topics = kafka.newTopics();
        List<NamedTensor> weights = Snapshots.weights(3);
        try (RawPublisher raw = new RawPublisher(kafka, topics)) {
            raw.snapshot(Snapshots.inline("fallback", 1, weights, Optional.empty()));
            raw.snapshot(Snapshots.flipInlineByte(Snapshots.inline("fallback", 2, Snapshots.weights(6), Optional.empty()), 500));
        }
        // When a subscriber starts, Then it refuses version 2 and serves version 1
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ModelSubscriber subscriber = ModelSubscriber.start(subscriber("fallback").build(), topics,
                kafka.bootstrapServers(), Map.of(), registry)) {
            assertThat(subscriber.version()).isEqualTo(1);
            assertThat(registry.get("rehearsal.subscriber.snapshots.refused").tag("reason", "CHECKSUM").counter().count())
                    .isEqualTo(1);
        }
    }

    @Test
    void shouldHotSwapTwentySnapshotsWhilePredictionsStreamFromSeveralThreads(KafkaCluster kafka) throws Exception {
        // Given a subscriber on an empty topic and four threads that predict four probes as fast as they can,
        // remembering every distinct (version, probabilities) they see
        Topics topics = kafka.newTopics();
        String model = "hot";
        List<float[]> probes = Snapshots.probes(4);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Map<Long, float[][]> expected = new ConcurrentHashMap<>();
        Map<Long, List<float[][]>> seen = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger predictions = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try (ModelSubscriber subscriber = ModelSubscriber.start(subscriber(model).build(), topics,
                kafka.bootstrapServers(), Map.of(), registry);
             TrainerApp app = new TrainerApp(trainerSettings(model), topics, kafka.bootstrapServers(), Map.of(),
                     new SimpleMeterRegistry())) {
            CountDownLatch started = new CountDownLatch(4);
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                workers.add(threads.submit(() -> {
                    started.countDown();
                    long lastVersion = 0;
                    Map<Long, float[][]> mine = new HashMap<>();
                    try {
                        assertThat(subscriber.awaitVersion(1, WAIT)).isTrue();
                        while (running.get()) {
                            List<ModelPrediction> out = subscriber.predict(probes);
                            predictions.incrementAndGet();
                            long v = out.get(0).modelVersion();
                            float[][] p = new float[probes.size()][];
                            for (int i = 0; i < p.length; i++) {
                                assertThat(out.get(i).modelVersion()).isEqualTo(v);
                                p[i] = out.get(i).probabilities();
                            }
                            assertThat(v).as("versions only move forward").isGreaterThanOrEqualTo(lastVersion);
                            lastVersion = v;
                            float[][] before = mine.putIfAbsent(v, p);
                            if (before == null || !java.util.Arrays.deepEquals(before, p)) {
                                seen.computeIfAbsent(v, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(p);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            started.await();
            // When the trainer publishes 20 snapshots, one per step, while they predict
            SyntheticStream stream = new SyntheticStream(model, Snapshots.DIMS, Snapshots.CLASSES, 2);
            for (long v = 1; v <= 20; v++) {
                produceBatch(kafka, topics, stream.trainBatch(8, 2));
                long version = v;
                pollUntil(app, () -> app.version() == version);
                expected.put(v, app.trainer().probabilities(probes)); // the trainer's own view of version v
            }
            assertThat(subscriber.awaitVersion(20, WAIT)).isTrue();
            // let the threads predict on version 20 too
            int after = predictions.get();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (predictions.get() < after + 100 && System.nanoTime() < deadline && failures.isEmpty()) {
                Thread.onSpinWait();
            }
            running.set(false);
            for (Future<?> w : workers) {
                w.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }

            // Then no prediction failed
            assertThat(failures).isEmpty();
            // and every prediction is exactly the output of the version it reports: never a mix of two
            for (var e : seen.entrySet()) {
                float[][] want = expected.get(e.getKey());
                assertThat(want).as("version %d was published", e.getKey()).isNotNull();
                for (float[][] got : e.getValue()) {
                    for (int i = 0; i < got.length; i++) {
                        for (int k = 0; k < got[i].length; k++) {
                            assertThat(got[i][k]).as("version %d probe %d class %d", e.getKey(), i, k)
                                    .isCloseTo(want[i][k], within(1e-5f));
                        }
                    }
                }
            }
            // and the versions are far enough apart for a mix to show
            for (long v = 2; v <= 20; v++) {
                assertThat(distance(expected.get(v), expected.get(v - 1))).as("versions %d and %d differ", v - 1, v)
                        .isGreaterThan(1e-4);
            }
            // and swaps happened under load: most versions were seen by the predicting threads, the last included
            assertThat(seen.keySet()).contains(20L).hasSizeGreaterThanOrEqualTo(10);
            assertThat(registry.get("rehearsal.subscriber.swaps").counter().count()).isEqualTo(20);
            assertThat(registry.get("rehearsal.subscriber.models.open").gauge().value()).as("retired versions closed").isEqualTo(1);
        } finally {
            running.set(false);
            threads.shutdownNow();
        }
    }

    private static double distance(float[][] a, float[][] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            for (int k = 0; k < a[i].length; k++) {
                d += Math.abs(a[i][k] - b[i][k]);
            }
        }
        return d;
    }

    /** Records what the subscriber's listener hears, for waiting on it. */
    private static final class Events implements ModelListener {
        final BlockingQueue<String> queue = new LinkedBlockingQueue<>();

        @Override
        public void onNewVersion(ModelInfo previous, ModelInfo current) {
            queue.add("serving " + current.version());
        }

        @Override
        public void onRefused(String modelId, long version, Reason reason, String message) {
            queue.add("refused " + version + " " + reason);
        }

        String next() throws InterruptedException {
            String e = queue.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(e).as("an event within %s", WAIT).isNotNull();
            return e;
        }
    }

    @Test
    void shouldRefuseTamperedSnapshotsOnTheTopicAndKeepServing(KafkaCluster kafka) throws Exception {
        // Given a subscriber serving version 1, and a signing subscriber beside it
        Topics topics = kafka.newTopics();
        String model = "tamper";
        List<float[]> probes = Snapshots.probes(4);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        SimpleMeterRegistry signedRegistry = new SimpleMeterRegistry();
        try (RawPublisher raw = new RawPublisher(kafka, topics);
             ModelSubscriber subscriber = ModelSubscriber.start(subscriber(model).build(), topics,
                     kafka.bootstrapServers(), Map.of(), registry);
             ModelSubscriber signed = ModelSubscriber.start(subscriber(model).optVerifyKey(Snapshots.KEY).build(), topics,
                     kafka.bootstrapServers(), Map.of(), signedRegistry)) {
            Events events = new Events();
            subscriber.addListener(events);
            Events signedEvents = new Events();
            signed.addListener(signedEvents);
            raw.snapshot(Snapshots.inline(model, 1, Snapshots.weights(3), Optional.empty()));
            assertThat(events.next()).isEqualTo("serving 1");
            float[] before = subscriber.predict(probes.get(0)).probabilities();
            // the signing subscriber refuses the unsigned version 1
            assertThat(signedEvents.next()).isEqualTo("refused 1 UNSIGNED");
            assertThat(signed.ready()).isFalse();

            // When version 2 arrives with one flipped byte in its inline weights
            raw.snapshot(Snapshots.flipInlineByte(Snapshots.inline(model, 2, Snapshots.weights(8), Optional.empty()), 321));
            // Then it is refused and version 1 keeps answering exactly as before
            assertThat(events.next()).isEqualTo("refused 2 CHECKSUM");
            assertThat(subscriber.predict(probes.get(0)).modelVersion()).isEqualTo(1);
            assertThat(subscriber.predict(probes.get(0)).probabilities()).containsExactly(before);

            // When version 3 arrives in chunks, one byte of one chunk flipped on the chunk topic
            byte[] blob = SnapshotCodec.encodeParameters(Snapshots.weights(9));
            List<ChunkRef> refs = raw.chunks(SnapshotCodec.split(model, 3, blob, 1024), 2);
            raw.snapshot(Snapshots.snapshot(model, 3, Snapshots.SPEC, blob, refs, Optional.empty()));
            // Then it is refused too
            assertThat(events.next()).isEqualTo("refused 3 CHECKSUM");
            // When a record under the model's key is not a snapshot at all, Then it is refused as malformed
            raw.rawValue(model, "not a snapshot".getBytes(StandardCharsets.UTF_8));
            assertThat(events.next()).isEqualTo("refused -1 MALFORMED");
            assertThat(subscriber.version()).isEqualTo(1);

            // When an intact version 4 arrives in chunks, signed, Then both subscribers serve it
            byte[] blob4 = SnapshotCodec.encodeParameters(Snapshots.weights(10));
            List<ChunkRef> refs4 = raw.chunks(SnapshotCodec.split(model, 4, blob4, 1024), -1);
            raw.snapshot(Snapshots.snapshot(model, 4, Snapshots.SPEC, blob4, refs4, Optional.of(Snapshots.signer())));
            assertThat(events.next()).isEqualTo("serving 4");
            assertThat(signedEvents.next()).isEqualTo("refused 2 UNSIGNED");
            assertThat(signedEvents.next()).isEqualTo("refused 3 UNSIGNED");
            assertThat(signedEvents.next()).isEqualTo("refused -1 MALFORMED");
            assertThat(signedEvents.next()).isEqualTo("serving 4");
            assertThat(signed.current().orElseThrow().signed()).isTrue();
            // When version 5 is signed with another key, Then the signing subscriber refuses it
            raw.snapshot(Snapshots.inline(model, 5, Snapshots.weights(11), Optional.of(new SnapshotSigner("not the trainer's key!"))));
            assertThat(events.next()).isEqualTo("serving 5");
            assertThat(signedEvents.next()).isEqualTo("refused 5 BAD_SIGNATURE");
            assertThat(signed.version()).isEqualTo(4);

            assertThat(registry.get("rehearsal.subscriber.snapshots.refused").tag("reason", "CHECKSUM").counter().count())
                    .isEqualTo(2);
            assertThat(signedRegistry.get("rehearsal.subscriber.snapshots.refused").tag("reason", "UNSIGNED").counter().count())
                    .isEqualTo(3);
        }
    }

    /** Writes snapshots and chunks to the topics without a trainer, intact or not. */
    static final class RawPublisher implements AutoCloseable {
        private final KafkaProducer<byte[], byte[]> producer;
        private final Topics topics;

        RawPublisher(KafkaCluster kafka, Topics topics) {
            Map<String, Object> props = new HashMap<>(kafka.clientProperties());
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 << 20);
            this.producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
            this.topics = topics;
        }

        RecordMetadata snapshot(ModelSnapshot s) throws Exception {
            return send(topics.modelUpdates().name(), topics.modelUpdates().serializeKey(s.getModelId()),
                    topics.modelUpdates().serializeValue(s));
        }

        RecordMetadata rawValue(String modelId, byte[] value) throws Exception {
            return send(topics.modelUpdates().name(), topics.modelUpdates().serializeKey(modelId), value);
        }

        /** Writes chunks and returns their references; the chunk at {@code flip} (if >= 0) has one byte flipped. */
        List<ChunkRef> chunks(List<SnapshotChunk> chunks, int flip) throws Exception {
            List<ChunkRef> refs = new ArrayList<>();
            for (SnapshotChunk c : chunks) {
                byte[] data = new byte[c.getData().remaining()];
                c.getData().duplicate().get(data);
                String sha = SnapshotCodec.sha256(data);
                if (c.getIndex() == flip) {
                    data[data.length / 2] ^= 0x01;
                }
                SnapshotChunk written = new SnapshotChunk(c.getModelId(), c.getVersion(), c.getIndex(), c.getCount(),
                        ByteBuffer.wrap(data));
                RecordMetadata md = send(topics.modelChunks().name(), topics.modelChunks().serializeKey(
                        SnapshotCodec.chunkKey(c.getModelId(), c.getVersion(), c.getIndex())), topics.modelChunks().serializeValue(written));
                refs.add(new ChunkRef(md.topic(), md.partition(), md.offset(), data.length, sha));
            }
            return refs;
        }

        private RecordMetadata send(String topic, byte[] key, byte[] value) throws Exception {
            return producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
        }
    }
}
