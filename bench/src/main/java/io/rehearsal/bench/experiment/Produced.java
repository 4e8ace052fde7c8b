package io.rehearsal.bench.experiment;

import io.rehearsal.schemas.avro.TopicPartitionOffset;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where and when each sample of a run was produced (filled by the producer's callbacks), so that a snapshot's
 * provenance (the highest offset of each samples partition behind it) tells which samples a model has learned
 * and how long ago the newest of them was produced: its freshness as a subscriber sees it.
 */
final class Produced {
    private final int[] partition;
    private final long[] offset;
    private final long[] sentMillis;

    Produced(int samples) {
        partition = new int[samples];
        offset = new long[samples];
        sentMillis = new long[samples];
        Arrays.fill(offset, -1);
    }

    /** Sample number {@code i} (in production order) was sent at {@code millis}. */
    void sent(int i, long millis) {
        sentMillis[i] = millis;
    }

    /** The broker acknowledged sample number {@code i} at this partition and offset. */
    synchronized void acknowledged(int i, int partition, long offset) {
        this.partition[i] = partition;
        this.offset[i] = offset;
    }

    /**
     * What a model whose provenance names {@code covered} (highest samples offset per partition) has learned.
     *
     * @param from first sample number of the range to count (a task's)
     * @param to   one past its last
     */
    synchronized Coverage coverage(List<TopicPartitionOffset> covered, int from, int to) {
        Map<Integer, Long> upTo = new HashMap<>();
        for (TopicPartitionOffset o : covered) {
            upTo.merge(o.getPartition(), o.getOffset(), Math::max);
        }
        int inRange = 0;
        long total = 0;
        long newestSent = -1;
        for (int i = 0; i < offset.length; i++) {
            Long limit = upTo.get(partition[i]);
            if (offset[i] < 0 || limit == null || offset[i] > limit) {
                continue;
            }
            total++;
            newestSent = Math.max(newestSent, sentMillis[i]);
            if (i >= from && i < to) {
                inRange++;
            }
        }
        return new Coverage(inRange, total, newestSent);
    }

    /**
     * @param inRange    samples of the range a model has learned
     * @param total      samples of the whole run it has learned
     * @param newestSent when the newest of them was produced (epoch millis), -1 if none
     */
    record Coverage(long inRange, long total, long newestSent) {
    }
}
