package io.rehearsal.models.train;

import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.schemas.avro.TrainBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Which input a model has consumed: the next offset to read per partition of the batch topic (what
 * is committed with a snapshot) and, per partition of the samples topic (= curator shard), the
 * highest sample offset the curator had consumed when it built a batch trained here.
 */
public final class BatchCoverage {
    private final String samplesTopic;
    private final Map<TopicPartition, Long> next = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
    private final Map<Integer, Long> samples = new TreeMap<>();
    private boolean dirty;

    public BatchCoverage(String samplesTopic) {
        this.samplesTopic = samplesTopic;
    }

    /** Starts from a loaded snapshot's provenance. */
    public void restore(Provenance provenance) {
        for (TopicPartitionOffset o : provenance.getBatchOffsets()) {
            next.put(new TopicPartition(o.getTopic(), o.getPartition()), o.getOffset());
        }
        for (TopicPartitionOffset o : provenance.getSampleOffsets()) {
            samples.merge(o.getPartition(), o.getOffset(), Math::max);
        }
        dirty = false;
    }

    /** The next offset to read at {@code partition} according to the restored snapshot, if any. */
    public Long nextOffset(TopicPartition partition) {
        return next.get(partition);
    }

    /** Records a consumed batch record (null batch: skipped or rejected). */
    public void consumed(TopicPartition partition, long offset, TrainBatch batch) {
        next.put(partition, offset + 1);
        if (batch != null && batch.getSampleOffset() >= 0) {
            samples.merge(batch.getShard(), batch.getSampleOffset(), Math::max);
        }
        dirty = true;
    }

    /** Records a record of another model: its offset moves on, but it alone is no reason to snapshot. */
    public void skipped(TopicPartition partition, long offset) {
        next.put(partition, offset + 1);
    }

    /** Whether a batch was consumed since the last {@link #markPublished}. */
    public boolean dirty() {
        return dirty;
    }

    public void markPublished() {
        dirty = false;
    }

    public Map<TopicPartition, OffsetAndMetadata> toCommit() {
        Map<TopicPartition, OffsetAndMetadata> out = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        next.forEach((tp, offset) -> out.put(tp, new OffsetAndMetadata(offset)));
        return out;
    }

    public List<TopicPartitionOffset> batchOffsets() {
        List<TopicPartitionOffset> out = new ArrayList<>();
        next.forEach((tp, offset) -> out.add(new TopicPartitionOffset(tp.topic(), tp.partition(), offset)));
        return out;
    }

    public List<TopicPartitionOffset> sampleOffsets() {
        List<TopicPartitionOffset> out = new ArrayList<>();
        samples.forEach((partition, offset) -> out.add(new TopicPartitionOffset(samplesTopic, partition, offset)));
        return out;
    }
}
