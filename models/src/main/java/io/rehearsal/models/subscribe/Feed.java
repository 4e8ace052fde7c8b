package io.rehearsal.models.subscribe;

import io.rehearsal.schemas.Topic;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * What a {@link SnapshotFollower} reads for a model, and how a record of it reaches the {@link HotSwapModel}:
 * the trainer's snapshots ({@link SnapshotFeed}, {@link Follow#LATEST}) or the promoter's decisions
 * ({@link PromotionFeed}, {@link Follow#PROMOTED}).
 */
interface Feed {
    /** The compacted topic whose records keyed by the model id are followed. */
    Topic<String, ?> topic();

    /**
     * Applies one record of the model.
     *
     * @param where where it was read, for the log
     * @return true if the model now serves what the record states
     */
    boolean apply(ConsumerRecord<byte[], byte[]> record, String where);
}
