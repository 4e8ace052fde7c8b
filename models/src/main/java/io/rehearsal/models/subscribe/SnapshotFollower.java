package io.rehearsal.models.subscribe;

import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.PollingWorker;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka side of a subscriber: reads the model's partition of the compacted topic its {@link Feed} names
 * (model-updates, or model-promotions when it follows promotions) from the beginning to its end, applies the
 * newest record there to the {@link HotSwapModel} (falling back to an older one still on the topic if the
 * newest is refused), then follows new records on a thread of its own. It reads {@code read_committed}
 * without a consumer group, so aborted records are never seen and any number of subscribers follow the same
 * model.
 */
final class SnapshotFollower implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotFollower.class);
    /** Snapshots of the model kept while reading to the end on start, to fall back on if the newest is refused. */
    private static final int START_CANDIDATES = 4;
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** How long a close waits for the consumer (and its thread): a stopping process must be gone within 5 s. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

    private final SubscriberSettings settings;
    private final Topics topics;
    private final HotSwapModel model;
    private final Consumer<byte[], byte[]> consumer;
    private final SnapshotReader chunkReader;
    private final Feed feed;
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private PollingWorker worker;

    private SnapshotFollower(SubscriberSettings settings, Topics topics, HotSwapModel model, Consumer<byte[], byte[]> consumer,
                             SnapshotReader chunkReader) {
        this.settings = settings;
        this.topics = topics;
        this.model = model;
        this.consumer = consumer;
        this.chunkReader = chunkReader;
        this.feed = settings.follow() == Follow.PROMOTED
                ? new PromotionFeed(topics, model, chunkReader, settings.verifyKey())
                : new SnapshotFeed(topics, model, chunkReader);
    }

    /** The release state of the newest promotion applied (when following promotions). */
    Optional<io.rehearsal.models.release.ReleaseState> release() {
        return feed instanceof PromotionFeed p ? p.state() : Optional.empty();
    }

    /**
     * Starts following and returns once the newest snapshot on the topic is served, or after the settings'
     * start timeout (then the first snapshot to arrive is served).
     */
    static SnapshotFollower start(SubscriberSettings settings, Topics topics, HotSwapModel model, String bootstrapServers,
                                  Map<String, Object> kafkaProperties) {
        Map<String, Object> config = ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, "rehearsal-subscriber-" + settings.modelId() + "-"
                        + INSTANCES.incrementAndGet())
                // not negotiable: no group (every subscriber reads the whole model history itself), never
                // aborted snapshots, and never a topic auto-created without compaction
                .withoutGroup().readCommitted()
                .require(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false)
                .over(kafkaProperties);
        Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(config);
        SnapshotReader chunks;
        try {
            chunks = SnapshotReader.create(topics, bootstrapServers, kafkaProperties, settings.readTimeout());
        } catch (RuntimeException e) {
            consumer.close();
            throw e;
        }
        SnapshotFollower f = new SnapshotFollower(settings, topics, model, consumer, chunks);
        f.worker = PollingWorker.start("subscriber-" + settings.modelId(), f::follow, consumer::wakeup, f::finish,
                f::failed, CLOSE_WAIT.plusMillis(500));
        try {
            if (!f.caughtUp.await(settings.startTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("model {}: no snapshot loaded within {} (is {} there, and has the {} published?); "
                                + "the first snapshot to arrive will be served{}", settings.modelId(),
                        settings.startTimeout(), f.feed.topic().name(),
                        settings.follow() == Follow.PROMOTED ? "promoter" : "trainer",
                        settings.follow() == Follow.PROMOTED ? " (this follows promotions: without a running `rehearsal "
                                + "promoter`, follow the trainer's candidates with --follow latest)" : "");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return f;
    }

    /** Why it stopped following the topic, if it did. */
    Optional<RuntimeException> failure() {
        return worker.failure();
    }

    /** Read to the end, serve the newest snapshot, then follow. */
    private void follow(PollingWorker.Stopping stopping) throws InterruptedException {
        TopicPartition tp = awaitPartition(stopping);
        if (tp == null) {
            return;
        }
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        catchUp(tp, stopping);
        caughtUp.countDown();
        while (!stopping.get()) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(settings.pollTimeout())) {
                if (isOurs(r)) {
                    apply(r);
                }
            }
        }
    }

    private void finish() {
        caughtUp.countDown();
        try {
            consumer.close(CloseOptions.timeout(CLOSE_WAIT)); // no group to leave: fast unless the broker is gone
        } finally {
            chunkReader.close();
        }
    }

    private void failed(RuntimeException e) {
        LOG.error("model {}: the subscriber stopped following {}: {}; version {} keeps serving but no newer one "
                + "will be seen: restart the process", settings.modelId(), feed.topic().name(), e.toString(),
                model.version(), e);
    }

    private TopicPartition awaitPartition(PollingWorker.Stopping stopping) throws InterruptedException {
        String topic = feed.topic().name();
        boolean logged = false;
        while (!stopping.get()) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, settings.readTimeout());
            if (partitions != null && !partitions.isEmpty()) {
                int p = SnapshotReader.partitionFor(feed.topic().serializeKey(settings.modelId()), partitions.size());
                return new TopicPartition(topic, p);
            }
            if (!logged) {
                LOG.warn("model {}: topic {} does not exist yet; waiting for it (the {} or `rehearsal broker` "
                        + "creates it)", settings.modelId(), topic, settings.follow() == Follow.PROMOTED ? "promoter" : "trainer");
                logged = true;
            }
            if (stopping.await(Duration.ofSeconds(1))) {
                return null;
            }
        }
        return null;
    }

    private void catchUp(TopicPartition tp, PollingWorker.Stopping stopping) {
        long end = consumer.endOffsets(List.of(tp), settings.readTimeout()).get(tp); // last stable offset
        Deque<ConsumerRecord<byte[], byte[]>> recent = new ArrayDeque<>();
        long deadline = System.nanoTime() + settings.startTimeout().toNanos();
        while (!stopping.get() && consumer.position(tp, settings.readTimeout()) < end) {
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
                recent.isEmpty() ? "nothing for the model yet" : settings.follow() == Follow.PROMOTED
                        ? "serving what the newest promotion promotes" : "loading the newest snapshot");
        for (Iterator<ConsumerRecord<byte[], byte[]>> it = recent.descendingIterator(); it.hasNext() && !stopping.get(); ) {
            if (apply(it.next())) {
                break;
            }
        }
    }

    private boolean isOurs(ConsumerRecord<byte[], byte[]> r) {
        return r.key() != null && Arrays.equals(r.key(), feed.topic().serializeKey(settings.modelId()));
    }

    private boolean apply(ConsumerRecord<byte[], byte[]> r) {
        return feed.apply(r, String.format("%s-%d@%d", r.topic(), r.partition(), r.offset()));
    }

    /** Stops following (bounded: {@link #CLOSE_WAIT}). */
    @Override
    public void close() {
        worker.close();
    }
}
