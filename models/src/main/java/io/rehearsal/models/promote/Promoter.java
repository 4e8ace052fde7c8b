package io.rehearsal.models.promote;

import io.rehearsal.models.features.FeatureCache;
import io.rehearsal.models.features.FeatureCacheSettings;
import io.rehearsal.models.features.FeatureFeed;
import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.promote.ReleaseLedger.Released;
import io.rehearsal.models.promote.ReleaseLedger.Step;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.release.PromotionSigner;
import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.models.snapshot.SnapshotSigner;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.PollingWorker;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.TrainBatch;
import java.time.Clock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The promoter of one model: the single writer of its promotion records. It follows the trainer's snapshots
 * (candidates), the held-out (EVAL) samples the curator streams on the train-batches topic, and operators'
 * commands; it evaluates each new candidate exactly, on every held-out sample the trainer had been sent when
 * it published the candidate (the EVAL batches below the candidate's batch offset), beside the promoted
 * version on the same samples; the {@link PromotionPolicy} decides; and one Kafka transaction writes the
 * decision (signed), the released weights of a promoted version, the tombstones of versions let go and the
 * consumed command offsets. A restarted promoter resumes from its last record; a second one fences the first.
 *
 * <p>Why a component of its own, not the trainer: the trainer's own eval figures mix versions (each held-out
 * sample's last result may come from an older one), it would bless its own output (a poisoned stream trains
 * the model and would judge it), and its steps should not wait for evaluations. See docs/lifecycle.md.
 */
public final class Promoter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Promoter.class);
    /** Candidate snapshots remembered for an operator's promote or pin by version. */
    private static final int RECENT_CANDIDATES = 16;
    /** Train-batches records buffered ahead of the next candidate before that partition pauses. */
    private static final int MAX_PENDING_BATCHES = 2_000;
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

    private final PromoterSettings settings;
    private final Topics topics;
    private final Clock clock;
    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> consumer;
    private final SnapshotReader chunks;
    private final Optional<PromotionSigner> signer;
    private final Optional<SnapshotSigner> verifier;
    private final PromoterMetrics metrics;
    private final HeldOutSet heldOut;
    /** The features of the EVAL samples batches name (batches carry none since TrainBatch v2). */
    private final FeatureCache featureCache;
    private final FeatureFeed features;
    private final Judge judge;
    private final TopicPartition updates;
    private final TopicPartition batches;
    private final TopicPartition commands;
    private final LinkedHashMap<Long, ModelSnapshot> recent = new LinkedHashMap<>();
    private final Deque<ConsumerRecord<byte[], byte[]>> pendingBatches = new ArrayDeque<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile ReleaseLedger ledger;
    private long judged;
    private long commandsNext = -1;
    private PollingWorker worker;

    private Promoter(PromoterSettings settings, Topics topics, Clock clock, Producer<byte[], byte[]> producer,
                     Consumer<byte[], byte[]> consumer, SnapshotReader chunks, MeterRegistry registry, ReleaseLedger ledger,
                     TopicPartition updates, TopicPartition batches, TopicPartition commands, FeatureCache featureCache,
                     FeatureFeed features) {
        this.settings = settings;
        this.featureCache = featureCache;
        this.features = features;
        this.topics = topics;
        this.clock = clock;
        this.producer = producer;
        this.consumer = consumer;
        this.chunks = chunks;
        this.signer = settings.signingKey().map(PromotionSigner::new);
        this.verifier = settings.signingKey().map(SnapshotSigner::new);
        this.metrics = new PromoterMetrics(registry, settings.modelId(), clock);
        this.heldOut = new HeldOutSet(settings.heldOutCapacity());
        this.judge = new Judge(settings.modelId(), settings.signingKey(), settings.threads(), chunks);
        this.ledger = ledger;
        this.updates = updates;
        this.batches = batches;
        this.commands = commands;
        this.judged = ledger.lastJudged();
        metrics.state(ledger);
    }

    /**
     * Fences any earlier promoter of the model, resumes from its newest promotion record, and starts following
     * candidates, held-out samples and commands on a thread of its own. Returns once the candidates on the
     * topic were read (the newest one is judged next).
     *
     * @param kafkaProperties extra client settings (TLS, SASL...) for every client
     */
    public static Promoter start(PromoterSettings settings, Topics topics, String bootstrapServers,
                                 Map<String, Object> kafkaProperties, MeterRegistry registry) {
        return start(settings, topics, bootstrapServers, kafkaProperties, registry, Clock.systemUTC());
    }

    static Promoter start(PromoterSettings settings, Topics topics, String bootstrapServers, Map<String, Object> kafkaProperties,
                          MeterRegistry registry, Clock clock) {
        String id = settings.transactionalId();
        Producer<byte[], byte[]> producer = new KafkaProducer<>(ClientConfig.producer(bootstrapServers, topics.promotions(),
                        topics.releases())
                .withDefault(ProducerConfig.CLIENT_ID_CONFIG, id)
                .require(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id)
                .over(kafkaProperties));
        Consumer<byte[], byte[]> consumer = null;
        SnapshotReader chunks = null;
        FeatureCache featureCache = null;
        FeatureFeed features = null;
        try {
            try {
                producer.initTransactions();
            } catch (ProducerFencedException | InvalidProducerEpochException e) {
                throw new PromoterFencedException(settings.modelId(), id, e);
            }
            ReleaseLedger ledger = restore(settings, topics, bootstrapServers, kafkaProperties);
            consumer = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                    .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, id + "-consumer")
                    .inGroup(id).readCommitted()
                    .over(kafkaProperties));
            TopicPartition updates = partition(consumer, topics.modelUpdates(), settings);
            TopicPartition batches = partition(consumer, topics.trainBatches(), settings);
            TopicPartition commands = partition(consumer, topics.commands(), settings);
            consumer.assign(List.of(updates, batches, commands));
            consumer.seekToBeginning(List.of(updates));
            long begin = consumer.beginningOffsets(List.of(batches), settings.readTimeout()).get(batches);
            long end = consumer.endOffsets(List.of(batches), settings.readTimeout()).get(batches);
            consumer.seek(batches, Math.max(begin, end - settings.evalLookback()));
            OffsetAndMetadata committed = consumer.committed(java.util.Set.of(commands), settings.readTimeout()).get(commands);
            if (committed != null) {
                consumer.seek(commands, committed.offset());
            } else {
                consumer.seekToBeginning(List.of(commands)); // expired commands are rejected, not applied
            }
            chunks = SnapshotReader.create(topics, bootstrapServers, kafkaProperties, settings.readTimeout());
            featureCache = new FeatureCache(settings.modelId(), FeatureCacheSettings.defaults().memoryBytes(),
                    Path.of(System.getProperty("java.io.tmpdir"), "rehearsal-promoter-features-" + settings.modelId() + "-"
                            + ProcessHandle.current().pid()));
            features = new FeatureFeed("promoter", settings.modelId(), topics, bootstrapServers, kafkaProperties, featureCache,
                    FeatureCacheSettings.defaults().maxWait(), registry);
            Promoter p = new Promoter(settings, topics, clock, producer, consumer, chunks, registry, ledger, updates, batches,
                    commands, featureCache, features);
            LOG.info("model {}: promoter started at promotion {} (version {} promoted{}); policy {}", settings.modelId(),
                    ledger.sequence(), ledger.promotedVersion(), ledger.pinned() ? ", pinned" : "", settings.policy().describe());
            Consumer<byte[], byte[]> c = consumer;
            SnapshotReader r = chunks;
            p.worker = PollingWorker.start("promoter-" + settings.modelId(), p::run, c::wakeup, p::finish, p::failed,
                    CLOSE_WAIT.plusMillis(500));
            p.caughtUp.await(settings.readTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return p;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the promoter", e);
        } catch (RuntimeException e) {
            if (consumer != null) {
                consumer.close(CloseOptions.timeout(CLOSE_WAIT));
            }
            if (chunks != null) {
                chunks.close();
            }
            if (features != null) {
                features.close();
            }
            if (featureCache != null) {
                featureCache.close();
            }
            producer.close(CLOSE_WAIT);
            throw e;
        }
    }

    private static ReleaseLedger restore(PromoterSettings settings, Topics topics, String bootstrap, Map<String, Object> props) {
        int maxRecord = topics.promotions().maxMessageBytes();
        try (PromotionReader reader = PromotionReader.create(topics, bootstrap, props, settings.readTimeout(), settings.signingKey())) {
            PromotionReader.History h = reader.history(settings.modelId());
            if (h.latest().isEmpty() && h.skipped() > 0) {
                throw new IllegalStateException(String.format("model %s has %d promotion records but none is readable with "
                        + "this promoter's key: was the signing key changed? Starting over would forget what services "
                        + "serve; fix the key (or delete the model's promotions deliberately)", settings.modelId(), h.skipped()));
            }
            return h.latest().map(p -> ReleaseLedger.restore(p, settings.policy(), settings.keepReleases(), maxRecord))
                    .orElseGet(() -> ReleaseLedger.fresh(settings.modelId(), settings.policy(), settings.keepReleases(), maxRecord));
        }
    }

    private static TopicPartition partition(Consumer<byte[], byte[]> consumer, Topic<String, ?> topic, PromoterSettings s) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topic.name(), s.readTimeout());
        if (partitions == null || partitions.isEmpty()) {
            throw new IllegalStateException("topic " + topic.name() + " does not exist; create the topics first "
                    + "(`rehearsal broker` or the promoter's own start creates them)");
        }
        return new TopicPartition(topic.name(), SnapshotReader.partitionFor(topic.serializeKey(s.modelId()), partitions.size()));
    }

    /** The version services are told to serve now (0: none yet). */
    public long promotedVersion() {
        return ledger.promotedVersion();
    }

    /** Whether the promoted version is pinned. */
    public boolean pinned() {
        return ledger.pinned();
    }

    /** The newest candidate version judged. */
    public synchronized long judgedVersion() {
        return judged;
    }

    /** Why the promoter stopped, if it did. */
    public Optional<RuntimeException> failure() {
        return worker.failure();
    }

    /** True while the promoter follows its topics. */
    public boolean ready() {
        return caughtUp.getCount() == 0 && worker.alive() && worker.failure().isEmpty();
    }

    // ---- the loop

    private void run(PollingWorker.Stopping stopping) {
        features.start(Duration.ofMinutes(10));
        long updatesEnd = consumer.endOffsets(List.of(updates), settings.readTimeout()).get(updates);
        while (!stopping.get()) {
            features.pollNow();
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(settings.pollTimeout())) {
                if (r.topic().equals(updates.topic()) && r.partition() == updates.partition()) {
                    candidate(r);
                } else if (r.topic().equals(batches.topic()) && r.partition() == batches.partition()) {
                    pendingBatches.addLast(r);
                } else {
                    command(r);
                }
            }
            if (caughtUp.getCount() > 0 && consumer.position(updates, settings.readTimeout()) >= updatesEnd) {
                caughtUp.countDown();
            }
            if (pendingBatches.size() >= MAX_PENDING_BATCHES) {
                consumer.pause(List.of(batches));
            } else if (consumer.paused().contains(batches)) {
                consumer.resume(List.of(batches));
            }
            if (caughtUp.getCount() == 0) {
                judgeNewest();
            }
        }
    }

    private void candidate(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null || r.value() == null || !Arrays.equals(r.key(), topics.modelUpdates().serializeKey(settings.modelId()))) {
            return;
        }
        ModelSnapshot s;
        try {
            s = topics.modelUpdates().deserializeValue(r.value());
        } catch (RuntimeException e) {
            LOG.warn("model {}: the record at {}-{}@{} is not a snapshot ({}); skipped", settings.modelId(), r.topic(),
                    r.partition(), r.offset(), e.getMessage());
            return;
        }
        if (!settings.modelId().equals(s.getModelId())) {
            return;
        }
        recent.put(s.getVersion(), s);
        while (recent.size() > RECENT_CANDIDATES) {
            recent.remove(recent.keySet().iterator().next());
        }
        ledger = ledger.seen(s.getVersion());
        metrics.state(ledger);
    }

    /** Judges the newest candidate not judged yet, once the held-out set has caught up with it. */
    private void judgeNewest() {
        Optional<ModelSnapshot> newest = recent.values().stream().reduce((a, b) -> b);
        if (newest.isEmpty() || newest.get().getVersion() <= judged) {
            return;
        }
        ModelSnapshot candidate = newest.get();
        long target = batchOffset(candidate);
        while (!pendingBatches.isEmpty() && pendingBatches.peekFirst().offset() < target) {
            ConsumerRecord<byte[], byte[]> r = pendingBatches.removeFirst();
            try {
                TrainBatch batch = topics.trainBatches().deserializeValue(r.value());
                // EVAL items name their samples: their features come from the features topic
                heldOut.add(batch.getKind() == BatchKind.EVAL ? features.resolve(batch).batch() : batch, r.offset());
                features.done(batch);
            } catch (RuntimeException e) {
                heldOut.skip(r.offset()); // the trainer dead-letters it; nothing held out in it
            }
        }
        if (target != Long.MAX_VALUE && pendingBatches.isEmpty()
                && consumer.position(batches, settings.readTimeout()) < target) {
            return; // the batches the candidate was trained on are not read yet (transaction markers count too)
        }
        judge(candidate);
    }

    /** The next offset of the train-batches partition the candidate covers; MAX_VALUE when it does not say. */
    private long batchOffset(ModelSnapshot s) {
        for (TopicPartitionOffset o : s.getProvenance().getBatchOffsets()) {
            if (o.getTopic().equals(batches.topic()) && o.getPartition() == batches.partition()) {
                return o.getOffset();
            }
        }
        return Long.MAX_VALUE;
    }

    private void judge(ModelSnapshot candidate) {
        long started = System.nanoTime();
        ReleaseLedger now = ledger;
        Judge.Outcome outcome = judge.evaluate(candidate, heldOut, now.promoted().map(Released::snapshot));
        Instant at = clock.instant();
        if (outcome.candidate().isEmpty()) {
            commit(Optional.empty(), ignored -> now.unloadable(candidate.getVersion(), outcome.refusal(), at), false);
        } else {
            Evaluation c = outcome.candidate().get();
            metrics.evaluated(c, outcome.promoted(), System.nanoTime() - started);
            PromotionPolicy.Verdict verdict = now.assess(c, outcome.promoted());
            boolean promote = verdict.passed() && !now.pinned();
            Step step = commit(promote ? Optional.of(candidate) : Optional.empty(),
                    released -> now.decide(c, outcome.promoted(), verdict, released, at), false);
            if (step.next().promotedVersion() == candidate.getVersion()) {
                judge.promoted(candidate.getVersion());
            }
        }
        judge.discard();
        synchronized (this) {
            judged = candidate.getVersion();
        }
    }

    // ---- operators' commands

    private void command(ConsumerRecord<byte[], byte[]> r) {
        commandsNext = r.offset() + 1;
        if (r.key() == null || r.value() == null || !Arrays.equals(r.key(), topics.commands().serializeKey(settings.modelId()))) {
            return; // committed with the next record
        }
        ModelCommand c;
        try {
            c = topics.commands().deserializeValue(r.value());
        } catch (RuntimeException e) {
            LOG.warn("model {}: the command at {}-{}@{} does not decode ({}); skipped", settings.modelId(), r.topic(),
                    r.partition(), r.offset(), e.getMessage());
            return;
        }
        if (!settings.modelId().equals(c.getModelId())) {
            return;
        }
        ReleaseLedger now = ledger;
        Instant at = clock.instant();
        String actor = c.getOperator();
        String reason = c.getReason();
        String id = c.getCommandId();
        Step step;
        if (c.getTime().plus(ModelCommands.COMMAND_TTL).isBefore(at)) {
            step = commit(Optional.empty(), ignored -> now.reject(c.getVersion() == null ? 0 : c.getVersion(), actor,
                    "the command expired: it was sent at " + c.getTime() + ", more than " + ModelCommands.COMMAND_TTL.toMinutes()
                            + " minutes before a promoter read it; send it again", id, at), true);
        } else {
            step = switch (c.getAction()) {
                case UNPIN -> commit(Optional.empty(), ignored -> now.unpin(actor, reason, id, at), true);
                case ROLLBACK -> commit(Optional.empty(), ignored -> now.rollback(Optional.ofNullable(c.getVersion()), actor,
                        reason, id, at), true);
                case PIN -> c.getVersion() == null
                        ? commit(Optional.empty(), ignored -> now.pin(Optional.empty(), actor, reason, id, at), true)
                        : byVersion(now, c.getVersion(), id, actor, at, released -> now.pin(Optional.of(released), actor, reason, id, at));
                case PROMOTE -> {
                    long v = c.getVersion() != null ? c.getVersion() : now.latestVersion();
                    yield v == now.promotedVersion() && v > 0
                            ? commit(Optional.empty(), ignored -> now.reject(v, actor, "version " + v + " is promoted already", id, at), true)
                            : byVersion(now, v, id, actor, at, released -> now.promoteByHand(released, actor, reason, id, at));
                }
            };
        }
        LOG.info("model {}: {} by {}: {} ({})", settings.modelId(), c.getAction(), actor, step.record().getAction(),
                step.record().getReason());
    }

    /** A command about one version: released already (a rollback target or the promoted one), a recent candidate, or rejected. */
    private Step byVersion(ReleaseLedger now, long version, String commandId, String actor, Instant at, Function<Released, Step> apply) {
        Optional<Released> kept = now.promoted().filter(p -> p.version() == version)
                .or(() -> now.rollbackTargets().stream().filter(t -> t.version() == version).findFirst());
        if (kept.isPresent()) {
            return commit(Optional.empty(), ignored -> apply.apply(kept.get()), true);
        }
        ModelSnapshot candidate = recent.get(version);
        if (candidate == null) {
            return commit(Optional.empty(), ignored -> now.reject(version, actor, "version " + version + " is not available: it is "
                    + "neither promoted, a rollback target " + now.rollbackTargets().stream().map(Released::version).toList()
                    + " nor one of the " + recent.size() + " newest candidates " + recent.keySet(), commandId, at), true);
        }
        try {
            return commit(Optional.of(candidate), released -> apply.apply(released.orElseThrow()), true);
        } catch (io.rehearsal.models.snapshot.SnapshotFormatException e) {
            return commit(Optional.empty(), ignored -> now.reject(version, actor, "version " + version + " cannot be released: "
                    + e.getMessage(), commandId, at), true);
        }
    }

    // ---- one transaction per decision

    /**
     * Writes one decision: begins a transaction, releases {@code release} (copies its verified weights to the
     * releases topic) if given, asks {@code decide} for the step, sends its signed record and the tombstones of
     * the versions it lets go, and the command offsets if {@code withCommands}, then commits and adopts the step.
     */
    private Step commit(Optional<ModelSnapshot> release, Function<Optional<Released>, Step> decide, boolean withCommands) {
        Step step;
        try {
            producer.beginTransaction();
            Optional<Released> released = release.map(s -> new Released(s.getVersion(), copyWeights(s), clock.instant()));
            step = decide.apply(released);
            Promotion record = signer.map(s -> s.sign(step.record())).orElse(step.record());
            producer.send(new ProducerRecord<>(topics.promotions().name(), topics.promotions().serializeKey(settings.modelId()),
                    topics.promotions().serializeValue(record)));
            for (Released gone : step.dropped()) {
                for (int i = 0; i < gone.snapshot().getParameters().getChunks().size(); i++) {
                    producer.send(new ProducerRecord<>(topics.releases().name(),
                            topics.releases().serializeKey(ReleasedSnapshots.chunkKey(settings.modelId(), gone.version(), i)), null));
                }
            }
            if (withCommands && commandsNext >= 0) {
                producer.sendOffsetsToTransaction(Map.of(commands, new OffsetAndMetadata(commandsNext)), consumer.groupMetadata());
            }
            producer.commitTransaction();
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            throw new PromoterFencedException(settings.modelId(), settings.transactionalId(), e);
        } catch (RuntimeException e) {
            try {
                producer.abortTransaction();
            } catch (KafkaException abort) {
                e.addSuppressed(abort);
            }
            throw e;
        }
        ledger = step.next();
        metrics.state(ledger);
        metrics.decided(step.record().getAction(), step.record().getChecks());
        Promotion p = step.record();
        LOG.info("model {}: promotion {}: {} version {} (serving version {}{}): {}", settings.modelId(), p.getSequence(),
                p.getAction(), p.getCandidateVersion(), p.getPromotedVersion(), p.getPinned() ? ", pinned" : "", p.getReason());
        return step;
    }

    /** Copies a version's verified weights to the releases topic (in the open transaction); its released snapshot. */
    private ModelSnapshot copyWeights(ModelSnapshot snapshot) {
        byte[] blob = SnapshotCodec.readParameters(snapshot, chunks, verifier);
        List<SnapshotChunk> parts = SnapshotCodec.split(settings.modelId(), snapshot.getVersion(), blob, settings.chunkBytes());
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (SnapshotChunk chunk : parts) {
            sent.add(producer.send(new ProducerRecord<>(topics.releases().name(),
                    topics.releases().serializeKey(ReleasedSnapshots.chunkKey(settings.modelId(), snapshot.getVersion(), chunk.getIndex())),
                    topics.releases().serializeValue(chunk))));
        }
        producer.flush();
        List<ChunkRef> refs = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            try {
                RecordMetadata md = sent.get(i).get();
                refs.add(SnapshotCodec.reference(md.topic(), md.partition(), md.offset(), parts.get(i)));
            } catch (ExecutionException e) {
                throw new KafkaException("chunk " + i + " of version " + snapshot.getVersion() + " was not written: "
                        + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("interrupted while releasing version " + snapshot.getVersion(), e);
            }
        }
        return ReleasedSnapshots.released(snapshot, refs);
    }

    // ---- lifecycle

    private void finish() {
        caughtUp.countDown();
        try {
            consumer.close(CloseOptions.timeout(CLOSE_WAIT));
        } finally {
            try {
                judge.close();
                chunks.close();
                features.close();
                featureCache.close();
            } finally {
                producer.close(CLOSE_WAIT);
            }
        }
    }

    private void failed(RuntimeException e) {
        LOG.error("model {}: the promoter stopped: {}; services keep serving version {} until a promoter runs again",
                settings.modelId(), e.toString(), ledger.promotedVersion(), e);
    }

    /** Stops following (bounded); what was committed stays. */
    @Override
    public void close() {
        worker.close();
    }
}
