package io.rehearsal.streams;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.errors.Source;
import java.util.List;
import org.apache.kafka.common.header.Headers;

/**
 * Where one shard's work goes, and its clocks: the Kafka side of the curator, implemented over Kafka
 * Streams' processor context by {@link CuratorProcessor} (and nothing else), so the shard's logic never
 * touches a Kafka API.
 */
interface ShardOutputs {
    /** Sends batches to the batch topic, keyed by model id. */
    void batches(List<TrainBatch> batches, long now);

    /** Sends a dead letter, keyed by (a bounded prefix of) the rejected record's key. */
    void deadLetter(byte[] originalKey, DeadLetter letter, long now);

    /**
     * Writes a sample's features to the features topic (key: its id), or a tombstone when {@code features} is
     * null, with {@code headers}.
     */
    void features(String sampleId, SampleFeatures features, Headers headers, long timestamp);

    /** Forwards an input record, bytes untouched, to the shard of its sample id (see {@link Reroute}). */
    void reroute(Source src, Reroute.Input input, String sampleId);

    /** Wall clock, milliseconds. */
    long now();

    /** Stream time (the highest record timestamp seen), milliseconds. */
    long streamTime();
}
