package io.rehearsal.streams.state;

import java.nio.ByteBuffer;

/**
 * Counters of the whole shard (in {@code curator-state}, key {@value #KEY}): the highest samples offset
 * consumed (reported as {@code TrainBatch.sampleOffset}) and the number of pending feedback records.
 *
 * @param highestSampleOffset the highest offset of the shard's samples partition read so far; -1 before the first
 * @param pendingFeedback     feedback records waiting for their sample
 */
public record ShardState(long highestSampleOffset, int pendingFeedback) {
    public static final String KEY = "shard";

    /** A shard that has read nothing. */
    public static ShardState empty() {
        return new ShardState(-1, 0);
    }

    /** After reading the samples record at {@code offset}. */
    public ShardState read(long offset) {
        return new ShardState(Math.max(highestSampleOffset, offset), pendingFeedback);
    }

    /** With {@code delta} more (or fewer) feedback records waiting. */
    public ShardState pending(int delta) {
        return new ShardState(highestSampleOffset, pendingFeedback + delta);
    }

    public byte[] encode() {
        return ByteBuffer.allocate(12).putLong(highestSampleOffset).putInt(pendingFeedback).array();
    }

    public static ShardState decode(byte[] bytes) {
        if (bytes == null) {
            return empty();
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new ShardState(b.getLong(), b.getInt());
    }
}
