package io.rehearsal.streams.state;

import java.nio.ByteBuffer;

/**
 * Counters of the whole shard (in {@code curator-state}, key {@value #KEY}): the highest samples offset
 * consumed (reported as {@code TrainBatch.sampleOffset}) and the number of pending feedback records.
 */
public final class ShardState {
    public static final String KEY = "shard";

    public long highestSampleOffset = -1;
    public int pendingFeedback;

    public byte[] encode() {
        return ByteBuffer.allocate(12).putLong(highestSampleOffset).putInt(pendingFeedback).array();
    }

    public static ShardState decode(byte[] bytes) {
        ShardState s = new ShardState();
        if (bytes != null) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            s.highestSampleOffset = b.getLong();
            s.pendingFeedback = b.getInt();
        }
        return s;
    }
}
