package io.rehearsal.models.train;

import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.Topics;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which of several trainer processes of one model trains: the one the consumer group
 * {@code <trainer group>-lease} assigns the model's partition of the batch topic to. The others wait,
 * warm (model built, libtorch loaded), neither training nor publishing, and one of them is assigned the
 * partition when the holder leaves the group (a stop) or misses its heartbeats for the session timeout (a
 * kill, a dead node).
 *
 * <p>The lease only decides who starts. Safety does not rest on it: a trainer that holds the lease starts
 * as any trainer does, registering the model's transactional id, which fences every earlier producer of
 * that id and completes or aborts its open transaction before the new trainer reads the newest snapshot. A
 * holder that lost the lease without noticing (paused, cut off) is fenced at its next commit; one that
 * notices ({@link #onLost}) stops, and with the cooperative protocol the partition moves to a standby only
 * after that callback returned, so a graceful handover publishes its last snapshot first.
 *
 * <p>Which standby takes over is {@link LeaseAssignor}'s choice: a warm one (it has read the features topic,
 * {@link #warm}) before one that is not, then the one that has waited longest; so after a kill the warm standby
 * takes over, not the victim's restarted process.
 *
 * <p>The lease consumer reads nothing: its partitions are paused as soon as they are assigned. It polls on
 * a thread of its own, so the heartbeats do not depend on how long a training step takes. The batch topic
 * has one partition in the registry; with more, adding a trainer may move the model's partition to it (a
 * needless failover, never two trainers publishing).
 */
public final class TrainerLease implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerLease.class);

    private final String modelId;
    private final String group;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final CountDownLatch acquired = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean held;
    private volatile boolean closed;
    private volatile Runnable onLost = () -> { };
    private volatile long acquiredAtNanos;
    private volatile boolean warm;
    private volatile long waitingSinceMillis = Long.MAX_VALUE;
    private volatile boolean leaveOnClose = true;

    /**
     * @param sessionTimeout how long a silent holder keeps the lease: the floor of a failover after a kill
     */
    public TrainerLease(TrainerSettings settings, Topics topics, String bootstrapServers, Map<String, Object> kafkaProperties,
                        Duration sessionTimeout) {
        this.modelId = settings.modelId();
        this.group = settings.groupId() + "-lease";
        this.consumer = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, group)
                .inGroup(group)
                .require(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic")
                // cooperative-sticky second: the group keeps it while members without LeaseAssignor remain (an upgrade)
                .require(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                        List.of(LeaseAssignor.class.getName(), CooperativeStickyAssignor.class.getName()))
                .require(LeaseAssignor.STANDING_CONFIG, (LeaseAssignor.StandingSource) this::standing)
                .require(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) sessionTimeout.toMillis())
                .require(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(100, sessionTimeout.toMillis() / 6))
                .forbid(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                .over(kafkaProperties));
        String topic = topics.trainBatches().name();
        int partitions = consumer.partitionsFor(topic, Duration.ofSeconds(60)).size();
        this.partition = new TopicPartition(topic, SnapshotReader.partitionFor(topics.trainBatches().serializeKey(modelId), partitions));
        this.thread = new Thread(this::loop, "trainer-lease-" + modelId);
        this.thread.setDaemon(true);
    }

    /** Joins the group; the lease may come at once (no other trainer) or later. */
    public TrainerLease start() {
        waitingSinceMillis = System.currentTimeMillis();
        consumer.subscribe(List.of(partition.topic()), new Listener());
        thread.start();
        return this;
    }

    /**
     * Called on the lease thread when the lease is revoked or lost; the partition moves on when it returns,
     * so it should stop training and return once the last snapshot is published (or given up).
     */
    public TrainerLease onLost(Runnable callback) {
        this.onLost = callback;
        return this;
    }

    /**
     * Tells the group, at its next rebalance, that this trainer is warm (its feature cache current): a warm
     * standby is preferred over one that is not when the lease passes on.
     */
    public void warm() {
        warm = true;
    }

    private LeaseAssignor.Standing standing() {
        return new LeaseAssignor.Standing(warm, waitingSinceMillis);
    }

    /** Waits until this trainer holds the lease; false after the timeout or when closed. */
    public boolean await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!closed && System.nanoTime() < deadline) {
            if (acquired.await(Math.min(200, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS)) {
                return held;
            }
        }
        return held;
    }

    /** Whether this trainer holds the lease now. */
    public boolean held() {
        return held;
    }

    /** When the lease was acquired ({@link System#nanoTime()}), 0 if never. */
    public long acquiredAtNanos() {
        return acquiredAtNanos;
    }

    /** The consumer group that holds the lease. */
    public String group() {
        return group;
    }

    private void loop() {
        try {
            while (!closed) {
                consumer.poll(Duration.ofMillis(100));
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("model {}: the trainer lease's consumer failed; giving the lease up", modelId, e);
            lose("its consumer failed");
        } finally {
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)).withGroupMembershipOperation(
                        leaveOnClose ? CloseOptions.GroupMembershipOperation.DEFAULT : CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP));
            } catch (RuntimeException e) {
                LOG.debug("closing the lease consumer", e);
            }
        }
    }

    private void lose(String why) {
        if (held) {
            held = false;
            LOG.warn("model {}: trainer lease {} ({}); stopping", modelId, why, group);
            onLost.run();
        }
    }

    /** Leaves the group (the lease, if held, passes to a standby at once). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!thread.isAlive() && waitingSinceMillis == Long.MAX_VALUE) { // never started: no loop to close the consumer
            consumer.close(CloseOptions.timeout(Duration.ZERO));
            return;
        }
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * For tests: stops as a killed process would, without leaving the group, so the lease passes on only after the
     * session timeout.
     */
    void closeAsIfKilled() {
        leaveOnClose = false;
        onLost = () -> { };
        close();
    }

    private final class Listener implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            consumer.pause(assigned);
            if (assigned.contains(partition) && !held) {
                held = true;
                acquiredAtNanos = System.nanoTime();
                LOG.info("model {}: trainer lease acquired ({} of group {})", modelId, partition, group);
                acquired.countDown();
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            if (revoked.contains(partition)) {
                lose("revoked");
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            if (lost.contains(partition)) {
                lose("lost (no heartbeat within the session timeout)");
            }
        }
    }
}
