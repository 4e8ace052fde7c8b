package io.rehearsal.models.snapshot;

import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.SnapshotChunk;

/** Where a reader fetches the chunks a snapshot references (a Kafka topic, or memory in tests). */
@FunctionalInterface
public interface ChunkSource {
    /**
     * The chunk at {@code ref}'s topic, partition and offset.
     *
     * @throws SnapshotFormatException if there is no such record (compacted away, or never committed)
     */
    SnapshotChunk read(ChunkRef ref);
}
