package io.rehearsal.streams;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each store's restore from its changelog: how many records it had to read, and how long it took.
 * A curator serves nothing while a shard restores, so this is where a slow restart shows (together with
 * the index rebuild {@code SampleMemory} logs, and the rebalance before either).
 */
final class RestoreLog implements StateRestoreListener {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreLog.class);
    private final Map<TopicPartition, Long> started = new ConcurrentHashMap<>();

    @Override
    public void onRestoreStart(TopicPartition partition, String store, long startingOffset, long endingOffset) {
        started.put(partition, System.nanoTime());
        LOG.info("restoring store {} from {}: offsets {} to {}", store, partition, startingOffset, endingOffset);
    }

    @Override
    public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset, long numRestored) {
    }

    @Override
    public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
        Long t0 = started.remove(partition);
        long ms = t0 == null ? -1 : (System.nanoTime() - t0) / 1_000_000;
        LOG.info("restored store {} from {}: {} records in {} ms", store, partition, totalRestored, ms);
    }

    @Override
    public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
        started.remove(partition);
        LOG.info("restore of store {} from {} suspended after {} records (the shard moved)", store, partition, totalRestored);
    }
}
