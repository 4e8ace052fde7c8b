package io.rehearsal.models.features;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds a {@link FeatureCache} from the features topic and resolves batches against it: the Kafka side of the
 * trainer's feature cache.
 *
 * <p>It reads every partition of the topic from the beginning, read-committed and outside any group (the
 * compacted topic is the cache's durable copy: a restarted trainer rebuilds from it). The curator writes a
 * sample's features in the transaction of the first batch that names it, or an earlier one, so once a batch
 * is visible its features are committed: a batch whose features have not been read yet waits while the feed
 * reads up to the topic's end as of that moment, which always finds them (unless compaction removed them: a
 * trainer more than {@link Topics#FEATURES_KEPT_AFTER_RELEASE} behind the curator), bounded by {@code maxWait}.
 * Items still without features are left out of the batch, counted and reported ({@link Resolution#missing}).
 */
public final class FeatureFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureFeed.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** How many samples found missing are remembered (not waited for again). */
    private static final int GONE_REMEMBERED = 10_000;

    private final String modelId;
    private final Topic<String, SampleFeatures> topic;
    private final FeatureCache cache;
    private final Duration maxWait;
    private final Consumer<byte[], byte[]> consumer;
    private final Timer waits;
    private final Counter missing;
    private final Counter undecodable;
    private final Counter records;
    private final java.util.LinkedHashSet<String> gone = new java.util.LinkedHashSet<>();
    private boolean started;

    /**
     * @param kafkaProperties the user's client settings (TLS, SASL...)
     * @param maxWait         longest a batch waits for its features
     */
    public FeatureFeed(String modelId, Topics topics, String bootstrapServers, Map<String, ?> kafkaProperties,
                       FeatureCache cache, Duration maxWait, MeterRegistry registry) {
        this("trainer", modelId, topics, bootstrapServers, kafkaProperties, cache, maxWait, registry);
    }

    /**
     * @param component the reader ({@code trainer}, {@code promoter}): its meters are {@code rehearsal.<component>.features.*}
     */
    public FeatureFeed(String component, String modelId, Topics topics, String bootstrapServers, Map<String, ?> kafkaProperties,
                       FeatureCache cache, Duration maxWait, MeterRegistry registry) {
        this.modelId = modelId;
        this.topic = topics.features();
        this.cache = cache;
        this.maxWait = maxWait;
        this.consumer = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, component + "-" + modelId + "-features")
                .withDefault(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, topic.maxMessageBytes())
                .require(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class)
                .require(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class)
                .readCommitted()
                .withoutGroup()
                .over(kafkaProperties));
        String m = "model";
        String prefix = "rehearsal." + component + ".features";
        this.waits = Timer.builder(prefix + ".wait")
                .description("Time a batch waited for features not yet read from the features topic")
                .tag(m, modelId).register(registry);
        this.missing = Counter.builder(prefix + ".missing")
                .description("Batch items left out because their features could not be found (compacted away?)")
                .tag(m, modelId).register(registry);
        this.undecodable = Counter.builder(prefix + ".undecodable")
                .description("Records on the features topic that do not decode (skipped)").tag(m, modelId).register(registry);
        this.records = Counter.builder(prefix + ".read")
                .description("Records read from the features topic (values and tombstones)").tag(m, modelId).register(registry);
        Gauge.builder(prefix + ".cached", cache, FeatureCache::memoryCount).tag(m, modelId)
                .tag("tier", "memory").description("Samples whose features the trainer holds").register(registry);
        Gauge.builder(prefix + ".cached", cache, FeatureCache::diskCount).tag(m, modelId)
                .tag("tier", "disk").description("Samples whose features the trainer holds").register(registry);
        Gauge.builder(prefix + ".cached.bytes", cache, FeatureCache::memoryBytes).tag(m, modelId)
                .tag("tier", "memory").baseUnit("bytes").description("Bytes of features the trainer holds").register(registry);
        Gauge.builder(prefix + ".cached.bytes", cache, FeatureCache::diskBytes).tag(m, modelId)
                .tag("tier", "disk").baseUnit("bytes").description("Bytes of features the trainer holds").register(registry);
        Gauge.builder(prefix + ".released.pending", cache, FeatureCache::releasedPending).tag(m, modelId)
                .description("Samples the curator let go whose features wait for the last batch that names them")
                .register(registry);
    }

    /** Reads the whole topic as it is now (the cache after a restart), then follows it. */
    public void start(Duration timeout) {
        if (started) {
            return;
        }
        List<PartitionInfo> partitions = consumer.partitionsFor(topic.name(), timeout);
        List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        long t0 = System.nanoTime();
        int read = catchUp(timeout);
        started = true;
        LOG.info("model {}: read {} records of {} ({} partitions) in {} ms; holding features of {} samples in memory "
                        + "({} bytes) and {} on disk", modelId, read, topic.name(), tps.size(),
                (System.nanoTime() - t0) / 1_000_000, cache.memoryCount(), cache.memoryBytes(), cache.diskCount());
    }

    /** Applies what arrives within {@code wait} (a standby following the topic); returns the records read. */
    public int poll(Duration wait) {
        return apply(consumer.poll(wait));
    }

    /** Applies what has arrived, without waiting. */
    public void pollNow() {
        apply(consumer.poll(Duration.ZERO));
    }

    /**
     * {@code batch} with every item's features filled in (items that carry them, from a version 1 curator, keep
     * theirs); items whose features cannot be found are left out.
     */
    public Resolution resolve(TrainBatch batch) {
        List<TrainItem> unresolved = fill(batch);
        if (!unresolved.isEmpty()) {
            long t0 = System.nanoTime();
            long deadline = t0 + maxWait.toNanos();
            catchUp(maxWait);
            unresolved = fill(batch);
            // past the topic's end as of now, features come only from a writer outside the curator's transactions;
            // a sample already found missing once is not waited for again
            while (!unresolved.isEmpty() && !gone.containsAll(refs(unresolved)) && System.nanoTime() < deadline) {
                apply(consumer.poll(Duration.ofNanos(Math.min(deadline - System.nanoTime(), POLL.toNanos()))));
                unresolved = fill(batch);
            }
            waits.record(Duration.ofNanos(System.nanoTime() - t0));
        }
        if (unresolved.isEmpty()) {
            return new Resolution(batch, List.of());
        }
        missing.increment(unresolved.size());
        for (String ref : refs(unresolved)) {
            if (gone.size() >= GONE_REMEMBERED) {
                gone.remove(gone.iterator().next());
            }
            gone.add(ref);
        }
        List<TrainItem> kept = new ArrayList<>(batch.getItems());
        kept.removeAll(unresolved);
        for (int i = 0; i < kept.size(); i++) {
            kept.get(i).setGroupId(i);
        }
        TrainBatch rest = TrainBatch.newBuilder(batch).setItems(kept).build();
        return new Resolution(rest, unresolved.stream().map(TrainItem::getSampleId).toList());
    }

    /** The batch has been trained or evaluated: features it released may go. */
    public void done(TrainBatch batch) {
        cache.trained(batch.getShard(), batch.getSequence());
    }

    private static List<String> refs(List<TrainItem> items) {
        return items.stream().map(i -> i.getSampleId() + "@" + i.getSourcePartition() + ":" + i.getSourceOffset()).toList();
    }

    private List<TrainItem> fill(TrainBatch batch) {
        List<TrainItem> unresolved = new ArrayList<>();
        for (TrainItem item : batch.getItems()) {
            if (item.getFeatures() != null) {
                continue;
            }
            Optional<Features> f = cache.get(item.getSampleId(), item.getSourcePartition(), item.getSourceOffset());
            if (f.isPresent()) {
                item.setFeatures(f.get());
            } else {
                unresolved.add(item);
            }
        }
        return unresolved;
    }

    /** Reads up to the end of every partition as of now (the last stable offsets), at most {@code timeout}. */
    private int catchUp(Duration timeout) {
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        int read = 0;
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                LOG.warn("model {}: could not read {} to its end within {}", modelId, topic.name(), timeout);
                break;
            }
            read += apply(consumer.poll(Duration.ofNanos(Math.min(left, POLL.toNanos()))));
        }
        return read;
    }

    private int apply(Iterable<ConsumerRecord<byte[], byte[]>> polled) {
        int n = 0;
        for (ConsumerRecord<byte[], byte[]> r : polled) {
            n++;
            records.increment();
            String id = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
            if (r.value() == null) {
                Header shard = r.headers().lastHeader(Topics.RELEASED_BY_SHARD_HEADER);
                Header after = r.headers().lastHeader(Topics.RELEASED_AFTER_HEADER);
                if (id == null || shard == null || after == null) {
                    undecodable.increment();
                    LOG.warn("model {}: tombstone at {}-{}@{} without the curator's release headers; ignored", modelId,
                            r.topic(), r.partition(), r.offset());
                    continue;
                }
                try {
                    cache.release(id, Integer.parseInt(new String(shard.value(), StandardCharsets.UTF_8)),
                            Long.parseLong(new String(after.value(), StandardCharsets.UTF_8)));
                } catch (NumberFormatException e) {
                    undecodable.increment();
                    LOG.warn("model {}: tombstone at {}-{}@{} with unreadable release headers; ignored", modelId,
                            r.topic(), r.partition(), r.offset());
                }
                continue;
            }
            try {
                cache.add(topic.deserializeValue(r.value()));
            } catch (RecordDecodeException e) {
                undecodable.increment();
                LOG.warn("model {}: record at {}-{}@{} does not decode as SampleFeatures ({}); skipped", modelId,
                        r.topic(), r.partition(), r.offset(), e.getMessage());
            }
        }
        return n;
    }

    @Override
    public void close() {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
    }

    /**
     * A batch as it will be trained, and the ids of the items left out for want of features.
     */
    public record Resolution(TrainBatch batch, List<String> missing) {
    }
}
