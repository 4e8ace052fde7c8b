package io.rehearsal.models.train;

import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.features.FeatureCache;
import io.rehearsal.models.features.FeatureFeed;
import io.rehearsal.models.snapshot.PublishHook;
import io.rehearsal.models.snapshot.SnapshotPublisher;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.TrainBatch;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
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
 *
 * <p>This class is the loop and its decisions (shed, resolve, train or evaluate, reject, publish); the
 * parts are {@code TrainerResume} (the snapshot to resume from), {@code BatchSource} (the batch
 * consumer), {@link FeatureFeed} (features by reference), {@code Divergence} (non-finite steps, roll
 * back to the last good state), {@code TrainerDeadLetters} and {@code TrainerSnapshots} (numbering,
 * content, the publishing transaction).
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
    private final BatchSource batches;
    private final FeatureCache featureCache;
    private final FeatureFeed features;
    private final SnapshotPublisher publisher;
    private final Optional<SnapshotSigner> signer;
    private final TrainingWindow window = new TrainingWindow();
    private final BatchCoverage coverage;
    private final TrainerDeadLetters deadLetters;
    private final Divergence divergence;
    private final TrainerSnapshots snapshots;
    private final FreshPack pack = new FreshPack();
    /** The batch record the pack's newest items came from: where a packed step that cannot be trained is reported. */
    private ConsumerRecord<byte[], byte[]> packRecord;
    private boolean started;
    private volatile boolean stopping;
    /** A standby's follower of the features topic, while it waits for the lease; null otherwise. */
    private StandbyFeatures standbyFeatures;

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
            metrics.watchRecomputedSteps(trainer);
            this.features = new FeatureFeed(settings.modelId(), topics, bootstrapServers, this.kafkaProperties, featureCache,
                    settings.featureCache().maxWait(), registry);
            this.batches = new BatchSource(settings, topics, bootstrapServers, this.kafkaProperties, registry);
            this.publisher = SnapshotPublisher.create(settings.modelId(), settings.transactionalId(), topics,
                    bootstrapServers, settings.maxInlineBytes(), settings.chunkBytes(), this.kafkaProperties, signer, hook);
        } catch (RuntimeException e) {
            featureCache.close();
            trainer.close();
            throw e;
        }
        this.deadLetters = new TrainerDeadLetters(settings.modelId(), topics, metrics, clock);
        this.divergence = new Divergence(settings.modelId(), trainer, metrics, deadLetters, coverage, batches);
        this.snapshots = new TrainerSnapshots(settings, trainer, publisher, batches, coverage, window, deadLetters,
                divergence, metrics, clock);
    }

    /** The trainer (for evaluation and prediction in the same process). */
    public ContinualTrainer trainer() {
        return trainer;
    }

    /** Version of the latest snapshot this trainer published or loaded; 0 before the first. */
    public long version() {
        return snapshots.version();
    }

    /** Creates topics, fences earlier trainers, loads the latest snapshot and seeks to the offsets it covers. */
    public void start() {
        if (started) {
            return;
        }
        ensureTopics();
        publisher.init();
        TrainerResume.Resumed resumed = new TrainerResume(settings, topics, trainer, coverage, publisher, signer, metrics)
                .resume(bootstrapServers, kafkaProperties);
        snapshots.resumed(resumed);
        batches.open(coverage);
        // the features of every sample a batch from here on may name, from the compacted topic (a standby has read
        // them while it waited: then this returns at once)
        if (standbyFeatures != null) {
            standbyFeatures.close();
            standbyFeatures = null;
        }
        features.start(Duration.ofMinutes(10));
        snapshots.startClock();
        divergence.started(resumed.version(), batches.position());
        started = true;
        LOG.info("trainer of model {} ({}) on {}: resuming after version {} at step {}, reading {} from offset {}",
                settings.modelId(), settings.spec(), trainer.device(), resumed.version(), trainer.step(), batches.partition(),
                batches.position());
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
        batches.wakeup();
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
        for (ConsumerRecord<byte[], byte[]> record : batches.poll(settings.pollTimeout())) {
            if (stopping) {
                break; // the rest of the poll is left for the next trainer: the snapshot covers only what was handled
            }
            if (handle(record)) {
                handled++;
            }
            if (pack.full()) {
                trainPack();
            }
            if (window.steps() >= settings.snapshotEverySteps()) {
                publish();
            }
        }
        trainPack(); // a snapshot covers only what was trained: a pack never outlives its poll
        if (coverage.dirty() && snapshots.timeDue()) {
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
            metrics.batchRead(clock.millis() - batch.getCreatedTime().toEpochMilli());
            boolean late = batch.getKind() == BatchKind.TRAIN && older(batch, settings.recallShedAge());
            if (!late) {
                trainPack(); // in stream order: the fresh items of late batches before the batch after them
            }
            if (batch.getKind() == BatchKind.TRAIN && older(batch, settings.maxBatchAge())) {
                // shed: not trained, its offset covered; its fresh samples stay in the curator's buffer
                metrics.shed(batch);
            } else {
                FeatureFeed.Resolution resolved = features.resolve(batch);
                if (!resolved.missing().isEmpty()) {
                    deadLetters.featuresMissing(record, resolved.missing());
                }
                if (resolved.batch().getItems().isEmpty()) {
                    // nothing left to learn from; its offset is covered all the same
                } else if (late) {
                    // fresh first: its fresh items join the pack (checked against this batch), its recalls are shed
                    ItemRows.validate(resolved.batch().getItems(), trainer.spec(), settings.modelId(), batch.getBatchId());
                    metrics.packed(resolved.batch());
                    pack.add(resolved.batch());
                    packRecord = record;
                } else if (batch.getKind() == BatchKind.EVAL) {
                    ContinualTrainer.EvalResult r = trainer.evaluate(resolved.batch());
                    metrics.evaluated(r.items(), trainer.evals());
                } else {
                    StepResult r = trainer.train(resolved.batch());
                    divergence.applied();
                    window.add(r, resolved.batch());
                    metrics.step(r);
                    metrics.trained(resolved.batch());
                }
            }
            features.done(batch);
        } catch (RecordDecodeException e) {
            deadLetters.rejected(record, e.reason().name(), e);
            batch = null;
        } catch (InvalidBatchException e) {
            deadLetters.rejected(record, e.reason(), e);
            if (e instanceof NonFiniteStepException nonFinite) {
                metrics.stepsSkipped(e.reason(), 1);
                divergence.skipped(nonFinite);
            }
            batch = null;
        }
        coverage.consumed(tp, record.offset(), batch);
        return true;
    }

    /** Whether a batch is older than {@code age} (zero: never), by its creation time (overload: the trainer is behind). */
    private boolean older(TrainBatch batch, Duration age) {
        long maxAge = age.toMillis();
        return maxAge > 0 && clock.millis() - batch.getCreatedTime().toEpochMilli() > maxAge;
    }

    /**
     * Trains the fresh items packed from late batches, if any, as one step. Their batches' offsets are covered
     * already (they were consumed), so this runs before every publish. A step that cannot be trained is reported
     * against the newest batch in it, as a batch of its own would be.
     */
    private void trainPack() {
        if (pack.isEmpty()) {
            return;
        }
        TrainBatch step = pack.take();
        try {
            StepResult r = trainer.train(step);
            divergence.applied();
            window.add(r, step);
            metrics.step(r);
            metrics.trained(step);
        } catch (InvalidBatchException e) {
            deadLetters.rejected(packRecord, e.reason(), e);
            if (e instanceof NonFiniteStepException nonFinite) {
                metrics.stepsSkipped(e.reason(), 1);
                divergence.skipped(nonFinite);
            }
        }
    }

    /** Publishes a snapshot of the current model with the offsets it covers, in one transaction. */
    public ModelSnapshot publish() {
        return snapshots.publish();
    }

    /**
     * For a standby while it waits for the lease: reads the features topic (the first call reads it to its end, as
     * {@link #start} would) and follows it for up to {@code wait}, so that a takeover finds the feature cache
     * current ({@link StandbyFeatures}). Fences, publishes and trains nothing; call it from the thread that will
     * {@link #run}.
     *
     * @return whether the feature cache is current (the topic was read to its end): the standby is warm
     */
    public boolean followFeatures(Duration wait) {
        if (started) {
            return true;
        }
        try {
            if (standbyFeatures == null) {
                standbyFeatures = new StandbyFeatures(settings, topics, bootstrapServers, kafkaProperties, features, featureCache);
            }
            standbyFeatures.follow(wait);
            return true;
        } catch (org.apache.kafka.common.KafkaException e) {
            // a broker fault must not stop a standby: it goes on waiting, and tries again
            LOG.warn("model {}: standby could not read the features topic ({}); trying again", settings.modelId(), e.toString());
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
    }

    @Override
    public void close() {
        try {
            if (standbyFeatures != null) {
                standbyFeatures.close();
            }
            batches.close();
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
