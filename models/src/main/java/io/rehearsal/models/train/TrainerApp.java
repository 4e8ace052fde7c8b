package io.rehearsal.models.train;

import ai.djl.engine.Engine;
import io.rehearsal.models.features.FeatureCache;
import io.rehearsal.models.features.FeatureFeed;
import io.rehearsal.models.runtime.TorchRuntime;
import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.metrics.KafkaClientMeters;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.snapshot.BuildInfo;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotPublisher;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.DeadLetters;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer process for one model: consumes its batches, trains, and publishes snapshots together
 * with the batch offsets they cover in one Kafka transaction.
 *
 * <p>Start ({@link #start}): create missing topics; register the model's transactional id (fencing a
 * previous trainer and aborting its open transaction); load the newest committed snapshot of the
 * model that reads and verifies, its weights and its optimizer state; assign the batch-topic partition the model's key
 * hashes to and seek to the offsets that snapshot covers (else the group's committed offset, else the
 * beginning). So a crash at any point re-trains at most the batches after the last snapshot and loses
 * none, and the next version is always the highest committed one + 1.
 *
 * <p>Loop ({@link #run}, or {@link #pollOnce} step by step): TRAIN batches are trained on, EVAL batches
 * evaluated; records of other models on the partition are skipped; undecodable or invalid batches go
 * to the dead-letter topic in the next snapshot's transaction. A snapshot is published after {@code
 * snapshotEverySteps} steps or {@code snapshotEvery} time, whichever first (only if a batch was
 * consumed since the last), and on a graceful {@link #stop}.
 */
public final class TrainerApp implements AutoCloseable {
    /**
     * Dead-letter and skipped-step reason when the weights (or optimizer state) are found not finite at a
     * snapshot: they are not published, and training rolls back to the last snapshot's.
     */
    public static final String NON_FINITE_WEIGHTS = "NON_FINITE_WEIGHTS";
    /**
     * Dead-letter and skipped-step reason when {@value #DIVERGED_AFTER_SKIPS} steps in a row were not finite: the
     * weights, finite but too large for any batch, have diverged, and training rolls back to the last good ones.
     */
    public static final String DIVERGED = "DIVERGED";
    /**
     * Non-finite steps in a row after which the weights are taken as diverged. One or two bad batches are their
     * inputs' fault and are only skipped; a run this long with the weights finite means no batch can be trained.
     */
    public static final int DIVERGED_AFTER_SKIPS = 8;
    private static final Logger LOG = LoggerFactory.getLogger(TrainerApp.class);

    private final TrainerSettings settings;
    private final Topics topics;
    private final String bootstrapServers;
    private final Map<String, Object> kafkaProperties;
    private final Clock clock;
    private final ContinualTrainer trainer;
    private final TrainerMetrics metrics;
    private final Consumer<byte[], byte[]> consumer;
    private final FeatureCache featureCache;
    private final FeatureFeed features;
    private final KafkaClientMeters clientMeters;
    private final SnapshotPublisher publisher;
    private final Optional<SnapshotSigner> signer;
    private final TrainingWindow window = new TrainingWindow();
    private final BatchCoverage coverage;
    private final List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>();
    private TopicPartition partition;
    private volatile long version;
    /** The highest version on the topic when this trainer started: the next one numbers after it. */
    private long highestOnTopic;
    private long lastSnapshotMillis;
    /** The last weights known finite (published or loaded) and where they stood: what a roll-back returns to. */
    private GoodState good;
    /** Non-finite steps in a row (0 after a step that applied). */
    private int skipStreak;
    private boolean started;
    private volatile boolean stopping;

    /**
     * @param kafkaProperties extra client settings for the consumer, producer and admin (TLS, SASL...)
     * @param registry        where the {@code rehearsal.trainer.*} meters and the batch consumer's
     *                        {@code kafka.consumer.*} meters go
     */
    public TrainerApp(TrainerSettings settings, Topics topics, String bootstrapServers,
                      Map<String, Object> kafkaProperties, MeterRegistry registry) {
        this(settings, topics, bootstrapServers, kafkaProperties, registry, PublishHook.NONE, Clock.systemUTC());
    }

    /** As above, with a hook into each publish stage (tests) and a clock. */
    public TrainerApp(TrainerSettings settings, Topics topics, String bootstrapServers,
                      Map<String, Object> kafkaProperties, MeterRegistry registry, PublishHook hook, Clock clock) {
        this.settings = settings;
        this.topics = topics;
        this.bootstrapServers = bootstrapServers;
        this.kafkaProperties = Map.copyOf(kafkaProperties);
        this.clock = clock;
        this.signer = settings.signingKey().map(SnapshotSigner::new);
        this.coverage = new BatchCoverage(topics.samples().name());
        this.trainer = new ContinualTrainer(settings);
        this.featureCache = new FeatureCache(settings.modelId(), settings.featureCache().memoryBytes(),
                settings.featureCache().directoryFor(settings.modelId()));
        try {
            this.metrics = new TrainerMetrics(registry, settings.modelId(), trainer.device().toString(), clock);
            this.features = new FeatureFeed(settings.modelId(), topics, bootstrapServers, this.kafkaProperties, featureCache,
                    settings.featureCache().maxWait(), registry);
            this.consumer = new KafkaConsumer<>(consumerConfig());
            this.clientMeters = new KafkaClientMeters(registry, "trainer-client-metrics").bind(consumer);
            this.publisher = SnapshotPublisher.create(settings.modelId(), settings.transactionalId(), topics,
                    bootstrapServers, settings.maxInlineBytes(), settings.chunkBytes(), this.kafkaProperties, signer, hook);
        } catch (RuntimeException e) {
            featureCache.close();
            trainer.close();
            throw e;
        }
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-batches");
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.LARGE_MESSAGE_BYTES);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 32);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(kafkaProperties);
        // not negotiable: offsets move only inside snapshot transactions, and aborted batches are invisible
        config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return config;
    }

    /** The trainer (for evaluation and prediction in the same process). */
    public ContinualTrainer trainer() {
        return trainer;
    }

    /** Version of the latest snapshot this trainer published or loaded; 0 before the first. */
    public long version() {
        return version;
    }

    /** Creates topics, fences earlier trainers, loads the latest snapshot and seeks to the offsets it covers. */
    public void start() {
        if (started) {
            return;
        }
        ensureTopics();
        publisher.init();
        try (SnapshotReader reader = SnapshotReader.create(topics, bootstrapServers, kafkaProperties, Duration.ofSeconds(60))) {
            restoreNewestLoadable(reader.history(settings.modelId()), reader);
        }
        List<PartitionInfo> partitions = consumer.partitionsFor(topics.trainBatches().name(), Duration.ofSeconds(60));
        int p = SnapshotReader.partitionFor(topics.trainBatches().serializeKey(settings.modelId()), partitions.size());
        partition = new TopicPartition(topics.trainBatches().name(), p);
        consumer.assign(List.of(partition));
        Long fromSnapshot = coverage.nextOffset(partition);
        OffsetAndMetadata committed = consumer.committed(java.util.Set.of(partition), Duration.ofSeconds(60)).get(partition);
        if (fromSnapshot != null) {
            if (committed != null && committed.offset() != fromSnapshot) {
                LOG.warn("model {}: group {} has offset {} committed for {} but the latest snapshot covers up to {}; "
                        + "resuming from the snapshot", settings.modelId(), settings.groupId(), committed.offset(),
                        partition, fromSnapshot);
            }
            consumer.seek(partition, fromSnapshot);
        } else if (committed != null) {
            consumer.seek(partition, committed.offset());
        } else {
            consumer.seekToBeginning(List.of(partition));
        }
        // the features of every sample a batch from here on may name, from the compacted topic
        features.start(Duration.ofMinutes(10));
        lastSnapshotMillis = clock.millis();
        good = new GoodState(trainer.parameters(), trainer.optimizerState(), trainer.step(), trainer.samplesSeen(), version,
                consumer.position(partition));
        started = true;
        LOG.info("trainer of model {} ({}) on {}: resuming after version {} at step {}, reading {} from offset {}",
                settings.modelId(), settings.spec(), trainer.device(), version, trainer.step(), partition,
                consumer.position(partition));
    }

    /**
     * Resumes from the newest snapshot that reads and verifies. One that does not (forged, altered, unsigned
     * while a key is set, chunks gone, undecodable) is skipped with a warning, and the versions published
     * from here number after the highest version on the topic, so subscribers, which refused it too, take
     * them. If snapshots exist but none loads (e.g. the signing key changed) the trainer refuses to start
     * rather than start over from random weights and publish them as the newest model.
     */
    private void restoreNewestLoadable(SnapshotReader.History history, SnapshotReader reader) {
        List<ModelSnapshot> snapshots = history.snapshots();
        if (history.undecodable() > 0) {
            LOG.warn("model {}: {} records on {} do not decode as snapshots; skipped", settings.modelId(),
                    history.undecodable(), topics.modelUpdates().name());
        }
        long highest = snapshots.stream().mapToLong(ModelSnapshot::getVersion).max().orElse(0);
        List<String> refused = new ArrayList<>();
        for (int i = snapshots.size() - 1; i >= 0; i--) {
            ModelSnapshot snapshot = snapshots.get(i);
            List<NamedTensor> parameters;
            try {
                parameters = SnapshotCodec.parameters(snapshot, reader, signer);
            } catch (SnapshotFormatException e) {
                refused.add("version " + snapshot.getVersion() + ": " + e.reason() + " (" + e.getMessage() + ")");
                LOG.warn("model {}: REFUSED snapshot version {} ({}): {}; trying the one before", settings.modelId(),
                        snapshot.getVersion(), e.reason(), e.getMessage());
                continue;
            }
            List<String> nonFinite = nonFinite(parameters);
            if (!nonFinite.isEmpty()) {
                refused.add("version " + snapshot.getVersion() + ": " + NON_FINITE_WEIGHTS + " (" + nonFinite + ")");
                LOG.warn("model {}: REFUSED snapshot version {} ({}): parameters {} hold NaN or infinite values; trying the "
                        + "one before", settings.modelId(), snapshot.getVersion(), NON_FINITE_WEIGHTS, nonFinite);
                continue;
            }
            restore(snapshot, parameters);
            restoreOptimizerState(snapshot, reader);
            // the chunks of the version before (and of any skipped newer one) are tombstoned with the next
            // snapshots, as the trainer that published them would have done had it lived
            for (int j = Math.max(0, i - 1); j < snapshots.size(); j++) {
                if (j != i) {
                    publisher.remember(snapshots.get(j));
                }
            }
            highestOnTopic = highest;
            if (highest != snapshot.getVersion()) {
                LOG.warn("model {}: resumed from version {}, the newest that loads; the next version is {} (after the "
                        + "highest on the topic, {}), with parent {}", settings.modelId(), snapshot.getVersion(), highest + 1,
                        highest, snapshot.getVersion());
            }
            return;
        }
        if (!snapshots.isEmpty()) {
            throw new IllegalStateException(String.format("none of the %d snapshots of model %s on %s can be loaded, so the "
                            + "trainer will not start over from random weights: %s. If the signing key was changed, start with "
                            + "the key that signed them", snapshots.size(), settings.modelId(), topics.modelUpdates().name(),
                    refused.subList(Math.max(0, refused.size() - 3), refused.size())));
        }
    }

    private void restore(ModelSnapshot snapshot, List<NamedTensor> parameters) {
        ModelSpec spec = ModelSpec.fromAvro(snapshot.getSpec());
        if (!spec.equals(settings.spec())) {
            throw new IllegalStateException(String.format("the latest snapshot of model %s (version %d) is a %s but the "
                            + "settings ask for a %s; use a new model id for a new architecture, or restore the settings",
                    settings.modelId(), snapshot.getVersion(), spec, settings.spec()));
        }
        trainer.loadParameters(parameters);
        trainer.resumeAt(snapshot.getStep(), snapshot.getMetrics().getSamplesSeen());
        // the held-out results it carried: the evaluation goes on from them, as in a trainer that never stopped
        trainer.evals().restore(snapshot.getMetrics().getEvaluations());
        coverage.restore(snapshot.getProvenance());
        publisher.remember(snapshot);
        version = snapshot.getVersion();
        metrics.resumed(version);
    }

    /**
     * Loads the optimizer state saved with the snapshot (verified as its weights were), so training goes
     * on exactly as in the trainer that published it. A snapshot without one (an older trainer, or SGD
     * without momentum), or whose state cannot be read or does not fit this optimizer (settings changed,
     * chunks gone), leaves the state at zero with a warning: the weights are sound, only the momentum is lost.
     */
    private void restoreOptimizerState(ModelSnapshot snapshot, SnapshotReader reader) {
        try {
            Optional<List<NamedTensor>> state = SnapshotCodec.optimizerState(snapshot, reader, signer);
            if (state.isPresent()) {
                trainer.loadOptimizerState(state.get());
                LOG.info("model {}: loaded the optimizer state of version {} ({} tensors)", settings.modelId(),
                        snapshot.getVersion(), state.get().size());
            } else if (hasState(settings)) {
                LOG.warn("model {}: version {} carries no optimizer state (written by an older trainer?); the {} state "
                        + "starts from zero, so training differs slightly from an uninterrupted run", settings.modelId(),
                        snapshot.getVersion(), settings.optimizer());
            }
        } catch (SnapshotFormatException | IllegalArgumentException e) {
            LOG.warn("model {}: the optimizer state of version {} cannot be used ({}); it starts from zero, so training "
                    + "differs slightly from an uninterrupted run", settings.modelId(), snapshot.getVersion(), e.getMessage());
        }
    }

    private static boolean hasState(TrainerSettings s) {
        return s.optimizer() == OptimizerKind.ADAM || s.momentum() != 0f;
    }

    private void ensureTopics() {
        Map<String, Object> config = new HashMap<>(kafkaProperties);
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (Admin admin = Admin.create(config)) {
            new TopicAdmin(admin).ensure(List.of(topics.trainBatches(), topics.features(), topics.modelUpdates(),
                    topics.modelChunks(), topics.deadLetters()));
        }
    }

    /**
     * Trains until {@link #stop} is called (then publishes a last snapshot if anything is uncovered) or
     * until a failure, which is thrown: {@link io.rehearsal.models.snapshot.TrainerFencedException} when
     * another trainer took over, {@link io.rehearsal.models.snapshot.SnapshotPublishException} when a
     * snapshot could not be published.
     */
    public void run() {
        try {
            if (!stopping) {
                start();
            }
            while (!stopping) {
                pollOnce();
            }
        } catch (WakeupException e) {
            // stop() woke a blocking consumer call up (a poll, or a lookup while starting)
            if (!stopping) {
                throw e;
            }
        }
        if (started && coverage.dirty()) {
            publish();
        }
    }

    /** Asks {@link #run} to finish; safe from any thread. */
    public void stop() {
        stopping = true;
        consumer.wakeup();
    }

    /**
     * One poll: trains on what arrived and publishes when a snapshot is due.
     *
     * @return batches of this model handled
     */
    public int pollOnce() {
        start();
        int handled = 0;
        features.pollNow();
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(settings.pollTimeout())) {
            if (stopping) {
                break; // the rest of the poll is left for the next trainer: the snapshot covers only what was handled
            }
            if (handle(record)) {
                handled++;
            }
            if (window.steps() >= settings.snapshotEverySteps()) {
                publish();
            }
        }
        if (coverage.dirty() && clock.millis() - lastSnapshotMillis >= settings.snapshotEvery().toMillis()) {
            publish();
        }
        return handled;
    }

    private boolean handle(ConsumerRecord<byte[], byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        if (!settings.modelId().equals(key)) {
            coverage.skipped(tp, record.offset());
            metrics.skipped();
            return false;
        }
        TrainBatch batch = null;
        try {
            batch = topics.trainBatches().deserializeValue(record.value());
            if (batch == null) {
                throw new InvalidBatchException("EMPTY", "the record has no value (a tombstone)");
            }
            if (batch.getKind() == BatchKind.TRAIN && overloaded(batch)) {
                // shed: not trained, its offset covered; its fresh samples stay in the curator's buffer
                metrics.shed(batch);
            } else {
                FeatureFeed.Resolution resolved = features.resolve(batch);
                if (!resolved.missing().isEmpty()) {
                    reportMissing(record, resolved.missing());
                }
                if (resolved.batch().getItems().isEmpty()) {
                    // nothing left to learn from; its offset is covered all the same
                } else if (batch.getKind() == BatchKind.EVAL) {
                    ContinualTrainer.EvalResult r = trainer.evaluate(resolved.batch());
                    metrics.evaluated(r.items(), trainer.evals());
                } else {
                    StepResult r = trainer.train(resolved.batch());
                    skipStreak = 0;
                    window.add(r, resolved.batch());
                    metrics.step(r);
                    metrics.trained(resolved.batch());
                }
            }
            features.done(batch);
        } catch (RecordDecodeException e) {
            reject(record, e.reason().name(), e);
            batch = null;
        } catch (InvalidBatchException e) {
            reject(record, e.reason(), e);
            if (e instanceof NonFiniteStepException nonFinite) {
                metrics.stepsSkipped(e.reason(), 1);
                skipped(nonFinite);
            }
            batch = null;
        }
        coverage.consumed(tp, record.offset(), batch);
        return true;
    }

    /** Whether a TRAIN batch is older than the maximum batch age (overload: the trainer is behind the curator). */
    private boolean overloaded(TrainBatch batch) {
        long maxAge = settings.maxBatchAge().toMillis();
        return maxAge > 0 && clock.millis() - batch.getCreatedTime().toEpochMilli() > maxAge;
    }

    /** Items left out for want of features: one dead letter for the batch, naming them. */
    private void reportMissing(ConsumerRecord<byte[], byte[]> record, List<String> missing) {
        String message = String.format("%d items of the batch left out: no features on %s for samples %s%s (compacted "
                        + "away? a trainer more than %s behind the curator finds them gone)", missing.size(),
                topics.features().name(), missing.subList(0, Math.min(10, missing.size())), missing.size() > 10 ? "..." : "",
                Topics.FEATURES_KEPT_AFTER_RELEASE);
        LOG.warn("model {}: batch at {}-{}@{}: {}", settings.modelId(), record.topic(), record.partition(), record.offset(),
                message);
        metrics.rejected("FEATURES_MISSING");
        DeadLetter letter = DeadLetters.of(new DeadLetters.Origin(record.topic(), record.partition(), record.offset(),
                record.key(), record.value()), "trainer", "FEATURES_MISSING", message, null,
                Instant.ofEpochMilli(clock.millis()));
        deadLetters.add(new ProducerRecord<>(topics.deadLetters().name(), DeadLetters.recordKey(record.key()),
                topics.deadLetters().serializeValue(letter)));
    }

    private void reject(ConsumerRecord<byte[], byte[]> record, String reason, RuntimeException e) {
        LOG.warn("model {}: rejected batch at {}-{}@{} ({}): {}", settings.modelId(), record.topic(), record.partition(),
                record.offset(), reason, e.getMessage());
        metrics.rejected(reason);
        DeadLetter letter = DeadLetters.of(new DeadLetters.Origin(record.topic(), record.partition(), record.offset(),
                record.key(), record.value()), "trainer", reason, e.getMessage(), e.getClass().getName(),
                Instant.ofEpochMilli(clock.millis()));
        deadLetters.add(new ProducerRecord<>(topics.deadLetters().name(), DeadLetters.recordKey(record.key()),
                topics.deadLetters().serializeValue(letter)));
    }

    /** Publishes a snapshot of the current model with the offsets it covers, in one transaction. */
    public ModelSnapshot publish() {
        long started = System.nanoTime();
        long next = Math.max(version, highestOnTopic) + 1;
        List<NamedTensor> parameters = trainer.parameters();
        List<NamedTensor> state = trainer.optimizerState();
        List<String> nonFinite = nonFinite(parameters);
        nonFinite.addAll(nonFinite(state));
        if (!nonFinite.isEmpty()) {
            rollBack(NON_FINITE_WEIGHTS, String.format("the weights of model %s were not finite at step %d (%s hold NaN or "
                    + "infinite values)", settings.modelId(), trainer.step(), DeadLetters.cut(nonFinite.toString(), 512)));
            parameters = good.parameters();
            state = good.optimizerState();
        }
        byte[] blob = SnapshotCodec.encodeParameters(parameters);
        byte[] optimizerState = state.isEmpty() ? null : SnapshotCodec.encodeParameters(state);
        ModelSnapshot published = publisher.publish(new SnapshotPublisher.Content(next, version == 0 ? null : version,
                        trainer.step(), Instant.ofEpochMilli(clock.millis()), settings.spec().toAvro(), blob, optimizerState,
                        window.toMetrics(trainer.samplesSeen(), trainer.evals()), provenance()),
                coverage.toCommit(), consumer.groupMetadata(), List.copyOf(deadLetters));
        version = next;
        lastSnapshotMillis = clock.millis();
        metrics.published(next, blob.length, System.nanoTime() - started, window.prequentialAccuracy());
        LOG.info("model {}: published version {} at step {} ({}; optimizer state {}), covering {}", settings.modelId(), next,
                trainer.step(), describe(published.getParameters()),
                optimizerState == null ? "none" : describe(published.getOptimizerState()), coverage.batchOffsets());
        window.reset();
        coverage.markPublished();
        deadLetters.clear();
        if (skipStreak == 0) {
            // weights in the middle of a run of non-finite steps may be diverged ones: not a state to go back to
            good = new GoodState(parameters, state, trainer.step(), trainer.samplesSeen(), next, nextOffset());
        }
        return published;
    }

    /**
     * A step was not applied. Weights that are not finite, or {@value #DIVERGED_AFTER_SKIPS} such steps in a row
     * with finite weights, mean the model diverged (one step's update made the weights too large for any batch):
     * skipping on would skip every batch from now on, so the trainer rolls back to the last good weights.
     */
    private void skipped(NonFiniteStepException e) {
        skipStreak++;
        if (e.statistics().weightsFinite() && skipStreak < DIVERGED_AFTER_SKIPS) {
            return;
        }
        String reason = e.statistics().weightsFinite() ? DIVERGED : NON_FINITE_WEIGHTS;
        if (trainer.step() == good.step()) {
            // nothing applied since the good state: the trainer is on those weights already (resumed from them)
            LOG.error("model {}: {} steps in a row were not finite ({}), and there is no earlier good state to roll back "
                    + "to than version {} (step {}), on which it stands; skipping on", settings.modelId(), skipStreak,
                    reason, good.version(), good.step());
            skipStreak = 0;
            return;
        }
        rollBack(reason, String.format("the weights of model %s diverged at step %d: %d steps in a row were not finite, "
                        + "the last with %s", settings.modelId(), trainer.step(), skipStreak,
                DeadLetters.cut(e.statistics().describe(), 1024)));
        skipStreak = 0;
    }

    /**
     * The weights are not finite, or diverged: they are never published. The trainer goes back to the last
     * weights known good, those of the last snapshot (or of the start), and the batches since are dead-lettered
     * as one range. The snapshot about to be published carries those weights and covers those batches, so a
     * restarted trainer does not train them again (deterministic training would diverge the same way).
     */
    private void rollBack(String reason, String what) {
        long lost = trainer.step() - good.step();
        long to = nextOffset();
        String message = String.format("%s, so they were not published: the trainer rolled back to the weights and "
                        + "optimizer state of version %d (step %d), and the %d steps of the batches at offsets [%d, %d) of %s "
                        + "are not learned. Lower the learning rate; check the features of those batches", what,
                good.version(), good.step(), lost, good.nextOffset(), to, partition);
        LOG.error("model {}: {}", settings.modelId(), message);
        trainer.loadParameters(good.parameters());
        trainer.loadOptimizerState(good.optimizerState()); // empty (no step before it): the state starts at zero again
        trainer.resumeAt(good.step(), good.samplesSeen());
        metrics.stepsSkipped(reason, lost);
        metrics.rejected(reason);
        DeadLetter letter = DeadLetters.of(new DeadLetters.Origin(partition.topic(), partition.partition(), good.nextOffset(),
                        settings.modelId().getBytes(StandardCharsets.UTF_8), null), "trainer", reason, message,
                null, Instant.ofEpochMilli(clock.millis()));
        deadLetters.add(new ProducerRecord<>(topics.deadLetters().name(),
                DeadLetters.recordKey(settings.modelId().getBytes(StandardCharsets.UTF_8)),
                topics.deadLetters().serializeValue(letter)));
    }

    /** The next batch offset to read: after the last record handled, else where the trainer started reading. */
    private long nextOffset() {
        Long next = coverage.nextOffset(partition);
        return next != null ? next : good.nextOffset();
    }

    /** Names of the tensors holding a NaN or an infinity (a mutable list). */
    private static List<String> nonFinite(List<NamedTensor> tensors) {
        List<String> out = new ArrayList<>();
        for (NamedTensor t : tensors) {
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    out.add(t.name());
                    break;
                }
            }
        }
        return out;
    }

    /** Weights and optimizer state known finite, the step and samples they stand at, and the batch offset after them. */
    private record GoodState(List<NamedTensor> parameters, List<NamedTensor> optimizerState, long step, long samplesSeen,
                             long version, long nextOffset) {
    }

    private static String describe(ParameterBlob blob) {
        return blob.getSizeBytes() + " bytes" + (blob.getInline() == null ? " in " + blob.getChunks().size() + " chunks" : " inline");
    }

    private Provenance provenance() {
        Map<String, String> settingsMap = new java.util.LinkedHashMap<>(settings.toProvenance());
        return new Provenance(settingsMap, settings.seed(), coverage.batchOffsets(), coverage.sampleOffsets(),
                settings.bufferSize(), BuildInfo.projectVersion(), BuildInfo.gitSha(), System.getProperty("java.version"),
                Engine.getDjlVersion(), Engine.getEngine(TorchRuntime.ENGINE).getVersion(), trainer.device().toString(),
                BuildInfo.host());
    }

    @Override
    public void close() {
        try {
            clientMeters.close();
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
            features.close();
            featureCache.close();
        } finally {
            try {
                publisher.close();
            } finally {
                trainer.close();
            }
        }
    }
}
