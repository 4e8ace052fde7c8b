package io.rehearsal.models.subscribe;

import io.rehearsal.models.snapshot.ChunkSource;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.models.snapshot.SnapshotFormatException.Reason;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link Follow#LATEST}: every snapshot on the model-updates topic newer than the one served. */
final class SnapshotFeed implements Feed {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotFeed.class);
    private final Topics topics;
    private final HotSwapModel model;
    private final ChunkSource chunks;

    SnapshotFeed(Topics topics, HotSwapModel model, ChunkSource chunks) {
        this.topics = topics;
        this.model = model;
        this.chunks = chunks;
    }

    @Override
    public Topic<String, ?> topic() {
        return topics.modelUpdates();
    }

    @Override
    public boolean apply(ConsumerRecord<byte[], byte[]> r, String where) {
        if (r.value() == null) {
            LOG.info("model {}: tombstone at {}: the model was deleted from the topic; version {} keeps serving",
                    model.modelId(), where, model.version());
            return false;
        }
        ModelSnapshot snapshot;
        try {
            snapshot = topics.modelUpdates().deserializeValue(r.value());
        } catch (RuntimeException e) {
            model.refuse(-1, new SnapshotFormatException(Reason.MALFORMED, "the record at " + where
                    + " does not decode as a ModelSnapshot (" + e.getMessage() + "); was it written by a rehearsal trainer?", e));
            return false;
        }
        return model.offer(snapshot, chunks, where);
    }
}
