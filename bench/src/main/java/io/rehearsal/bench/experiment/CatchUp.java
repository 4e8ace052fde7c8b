package io.rehearsal.bench.experiment;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Waits until consumer groups have committed everything there is to read: the curator on the inputs,
 * the trainer on the batches (the trainer commits with each snapshot, so caught up means "a snapshot
 * covers every batch"). "Everything" is judged by reading, not by comparing offsets: on a topic
 * written transactionally the end offset lies past the commit markers, which no consumer ever commits.
 */
public final class CatchUp implements AutoCloseable {
    private final Admin admin;
    private final KafkaConsumer<byte[], byte[]> probe;

    public CatchUp(Admin admin, Map<String, Object> clientProperties) {
        this.admin = admin;
        Map<String, Object> p = new HashMap<>(clientProperties);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "rehearsal-catchup-" + UUID.randomUUID());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        this.probe = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Whether no committed record lies after {@code group}'s committed offset on any of the partitions. */
    public boolean caughtUp(String group, List<TopicPartition> partitions) throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get();
        probe.assign(partitions);
        Map<TopicPartition, Long> ends = probe.endOffsets(partitions); // last stable offsets (read_committed)
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            long from = c == null ? 0 : c.offset();
            if (from >= ends.get(tp)) {
                continue;
            }
            probe.seek(tp, from);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (probe.position(tp) < ends.get(tp) && System.nanoTime() < deadline) {
                if (!probe.poll(Duration.ofMillis(100)).isEmpty()) {
                    return false; // a committed record the group has not committed past
                }
            }
        }
        return true;
    }

    /**
     * Waits until every (group, partitions) pair is caught up and stays so for {@code settle} (a
     * curator's linger can still emit a partial batch after its inputs are committed).
     */
    public void await(Map<String, List<TopicPartition>> groups, Duration settle, Duration timeout, Runnable whileWaiting)
            throws ExecutionException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long stableSince = -1;
        while (System.nanoTime() < deadline) {
            boolean all = true;
            for (var e : groups.entrySet()) {
                all &= caughtUp(e.getKey(), e.getValue());
            }
            long now = System.nanoTime();
            if (!all) {
                stableSince = -1;
            } else if (stableSince < 0) {
                stableSince = now;
            } else if (now - stableSince >= settle.toNanos()) {
                return;
            }
            whileWaiting.run();
            Thread.sleep(100); // polling the broker; there is no notification for "caught up"
        }
        throw new IllegalStateException("the pipeline did not catch up within " + timeout + "; see the curator and trainer logs");
    }

    @Override
    public void close() {
        probe.close();
    }
}
