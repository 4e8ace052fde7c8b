package io.rehearsal.cli.status;

import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Promotion;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * What {@code rehearsal status} shows, read from the topics and the components' {@code /metrics}: per model the
 * promoted and latest versions and their age, pinned or held back, the last evaluation per task, the consumer
 * lag of each component, the curator's buffer occupancy per class and the version each predictor serves; and
 * the dead letters of the last hour by component and reason.
 */
public final class Status {
    /** The most dead letters read for the last hour's counts (the count says when it was cut). */
    static final int MAX_DEAD_LETTERS = 100_000;

    /** Where to look. */
    public record Sources(Topics topics, Map<String, Object> clientProperties, List<String> models,
                          Map<String, String> metricsUrls, String trainerGroupPrefix, String predictorGroupPrefix,
                          String promoterGroupPrefix, Duration timeout) {
    }

    /** One consumer group's lag on one topic: records committed to the topic but not yet by the group. */
    public record Lag(String component, String group, String topic, long lag, boolean committed) {
    }

    /**
     * One model.
     *
     * @param release          the newest promotion's state, if a promoter ever decided
     * @param latestCreated    when the newest snapshot was published (its age is the model's freshness)
     * @param promotedCreated  when the promoted version was published
     * @param lastDecision     the newest promotion record
     * @param bufferByClass    long-term buffer occupancy per class, from the curator's metrics
     * @param served           version each predictor's /metrics says it serves, by component name
     */
    public record ModelStatus(String modelId, Optional<ReleaseState> release, long latestVersion,
                              Optional<Instant> latestCreated, Optional<Instant> promotedCreated,
                              Optional<Promotion> lastDecision, Map<String, Double> snapshotEvalByTask, List<Lag> lags,
                              Map<String, Double> bufferByClass, Map<String, Double> served) {
    }

    /** Everything, at {@code at}. */
    public record Report(Instant at, List<ModelStatus> models, Map<String, Map<String, Long>> deadLettersLastHour,
                         boolean deadLettersCut, Map<String, String> metricsErrors) {
    }

    private Status() {
    }

    public static Report collect(Sources s, Optional<String> key) {
        Instant now = Instant.now();
        String bootstrap = (String) s.clientProperties().get("bootstrap.servers");
        Map<String, String> metricsErrors = new TreeMap<>();
        Map<String, Metrics> scraped = new TreeMap<>();
        s.metricsUrls().forEach((name, url) -> {
            try {
                scraped.put(name, Metrics.scrape(url, s.timeout()));
            } catch (RuntimeException e) {
                metricsErrors.put(name, e.getMessage());
            }
        });
        List<ModelStatus> models = new ArrayList<>();
        try (Admin admin = Admin.create(s.clientProperties());
             SnapshotReader snapshots = SnapshotReader.create(s.topics(), bootstrap, s.clientProperties(), s.timeout());
             PromotionReader promotions = PromotionReader.create(s.topics(), bootstrap, s.clientProperties(), s.timeout(), key)) {
            List<String> ids = s.models().isEmpty() ? modelIds(s) : s.models();
            for (String model : ids) {
                Optional<ModelSnapshot> latest = snapshots.latest(model);
                Optional<Promotion> decision = promotions.history(model).latest();
                Optional<ReleaseState> release = decision.map(ReleaseState::of);
                Optional<Instant> promotedCreated = decision.flatMap(ReleasedSnapshots::promoted).map(ModelSnapshot::getCreatedTime);
                List<Lag> lags = new ArrayList<>();
                lags.addAll(lag(admin, s, "curator", s.topics().prefix() + "-curator",
                        List.of(s.topics().samples(), s.topics().feedback(), s.topics().reroute()), null));
                lags.addAll(lag(admin, s, "trainer", s.trainerGroupPrefix() + model, List.of(s.topics().trainBatches()), model));
                lags.addAll(lag(admin, s, "predictor", s.predictorGroupPrefix() + model, List.of(s.topics().samples()), null));
                lags.addAll(lag(admin, s, "promoter", s.promoterGroupPrefix() + model, List.of(s.topics().commands()), model));
                Map<String, Double> buffer = new TreeMap<>();
                Map<String, Double> served = new TreeMap<>();
                scraped.forEach((name, m) -> {
                    m.values("rehearsal_curator_buffer_occupancy", Map.of("model", model)).forEach((labels, v) ->
                            buffer.merge(labels.getOrDefault("class", "?"), v, Double::sum));
                    m.values("rehearsal_subscriber_model_version", Map.of("model", model)).values().stream().findFirst()
                            .ifPresent(v -> served.put(name, v));
                });
                models.add(new ModelStatus(model, release, latest.map(ModelSnapshot::getVersion).orElse(0L),
                        latest.map(ModelSnapshot::getCreatedTime), promotedCreated, decision,
                        latest.map(l -> l.getMetrics().getEvalAccuracyByTask()).map(TreeMap::new).map(m -> (Map<String, Double>) m)
                                .orElse(Map.of()), lags, buffer, served));
            }
        }
        DeadLetterCount dead = deadLetters(s, bootstrap, now.minus(Duration.ofHours(1)));
        return new Report(now, models, dead.counts(), dead.cut(), metricsErrors);
    }

    /** The model ids that have snapshots or promotions. */
    private static List<String> modelIds(Sources s) {
        TreeSet<String> ids = new TreeSet<>();
        for (Topic<String, ?> t : List.of(s.topics().modelUpdates(), s.topics().promotions())) {
            try (Consumer<byte[], byte[]> c = consumer(s)) {
                for (ConsumerRecord<byte[], byte[]> r : readAll(c, t.name(), Optional.empty(), s.timeout(), Integer.MAX_VALUE).records()) {
                    if (r.key() != null) {
                        ids.add(t.deserializeKey(r.key()));
                    }
                }
            }
        }
        return List.copyOf(ids);
    }

    private static List<Lag> lag(Admin admin, Sources s, String component, String group, List<Topic<?, ?>> topics, String key) {
        List<Lag> out = new ArrayList<>();
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(s.timeout().toMillis(), TimeUnit.MILLISECONDS);
            for (Topic<?, ?> t : topics) {
                List<TopicPartition> partitions = partitions(admin, s, t, key);
                Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
                partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
                var ends = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                        .get(s.timeout().toMillis(), TimeUnit.MILLISECONDS);
                long lag = 0;
                boolean any = false;
                for (TopicPartition tp : partitions) {
                    OffsetAndMetadata c = committed.get(tp);
                    if (c != null) {
                        any = true;
                        lag += Math.max(0, ends.get(tp).offset() - c.offset());
                    } else {
                        lag += ends.get(tp).offset();
                    }
                }
                out.add(new Lag(component, group, t.name(), lag, any));
            }
        } catch (ExecutionException | TimeoutException e) {
            out.add(new Lag(component, group, "?", -1, false));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** The topic's partitions, or only the one {@code key} hashes to. */
    private static List<TopicPartition> partitions(Admin admin, Sources s, Topic<?, ?> t, String key) throws ExecutionException,
            InterruptedException, TimeoutException {
        int n = admin.describeTopics(List.of(t.name())).allTopicNames().get(s.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .get(t.name()).partitions().size();
        if (key != null) {
            byte[] k = key.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return List.of(new TopicPartition(t.name(), SnapshotReader.partitionFor(k, n)));
        }
        List<TopicPartition> out = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            out.add(new TopicPartition(t.name(), p));
        }
        return out;
    }

    private record DeadLetterCount(Map<String, Map<String, Long>> counts, boolean cut) {
    }

    private static DeadLetterCount deadLetters(Sources s, String bootstrap, Instant since) {
        Map<String, Map<String, Long>> counts = new TreeMap<>();
        try (Consumer<byte[], byte[]> c = consumer(s)) {
            Read read = readAll(c, s.topics().deadLetters().name(), Optional.of(since), s.timeout(), MAX_DEAD_LETTERS);
            for (ConsumerRecord<byte[], byte[]> r : read.records()) {
                try {
                    DeadLetter d = s.topics().deadLetters().deserializeValue(r.value());
                    counts.computeIfAbsent(d.getComponent(), k -> new TreeMap<>()).merge(d.getReason(), 1L, Long::sum);
                } catch (RuntimeException e) {
                    counts.computeIfAbsent("?", k -> new TreeMap<>()).merge("UNDECODABLE", 1L, Long::sum);
                }
            }
            return new DeadLetterCount(counts, read.cut());
        }
    }

    private record Read(List<ConsumerRecord<byte[], byte[]>> records, boolean cut) {
    }

    /** Every committed record of a topic (from {@code since}, when given) to its end, at most {@code max}. */
    private static Read readAll(Consumer<byte[], byte[]> c, String topic, Optional<Instant> since, Duration timeout, int max) {
        List<PartitionInfo> infos = c.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            return new Read(List.of(), false);
        }
        List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        c.assign(tps);
        c.seekToBeginning(tps);
        if (since.isPresent()) {
            Map<TopicPartition, Long> times = new java.util.HashMap<>();
            tps.forEach(tp -> times.put(tp, since.get().toEpochMilli()));
            Map<TopicPartition, OffsetAndTimestamp> at = c.offsetsForTimes(times, timeout);
            Map<TopicPartition, Long> ends = c.endOffsets(tps, timeout);
            for (TopicPartition tp : tps) {
                OffsetAndTimestamp o = at.get(tp);
                c.seek(tp, o == null ? ends.get(tp) : o.offset());
            }
        }
        Map<TopicPartition, Long> ends = c.endOffsets(tps, timeout);
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline) && tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                if (r.value() != null) {
                    out.add(r);
                }
                if (out.size() >= max) {
                    return new Read(out, true);
                }
            }
        }
        return new Read(out, false);
    }

    private static Consumer<byte[], byte[]> consumer(Sources s) {
        return new KafkaConsumer<>(ClientConfig.consumer((String) s.clientProperties().get("bootstrap.servers"))
                .withoutGroup().readCommitted().over(s.clientProperties())) {
            @Override
            public void close() {
                super.close(CloseOptions.timeout(Duration.ofSeconds(1)));
            }
        };
    }

    /** The candidate's accuracy per task in the newest decision, else the trainer's own figures. */
    static Map<String, Double> candidateByTask(ModelStatus m) {
        Optional<Evaluation> e = m.lastDecision().map(Promotion::getEvaluation);
        if (e.isPresent()) {
            Map<String, Double> out = new TreeMap<>();
            e.get().getByTask().forEach((k, v) -> out.put(k, v.getAccuracy()));
            return out;
        }
        return m.snapshotEvalByTask();
    }
}
