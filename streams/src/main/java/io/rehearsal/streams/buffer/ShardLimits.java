package io.rehearsal.streams.buffer;

import java.time.Duration;
import java.util.Objects;

/**
 * What one shard's memory may hold: the curator's capacities split over the shards, and the seed of its
 * draws. {@code CuratorSettings.shardLimits()} makes it; the buffer needs nothing else of the settings.
 *
 * @param longTermCapacity  M of this shard: long-term buffer slots per model
 * @param shortTermCapacity recent samples this shard keeps per model
 * @param shortTermMaxAge   samples older than this (record time against stream time) leave the short-term store
 * @param shortTermRecalls  K_short: recalls from the short-term store before the hand-over to the long-term buffer
 * @param seed              seeds the reservoir's draws
 */
public record ShardLimits(int longTermCapacity, int shortTermCapacity, Duration shortTermMaxAge, int shortTermRecalls,
                          long seed) {
    public ShardLimits {
        Objects.requireNonNull(shortTermMaxAge, "shortTermMaxAge");
        if (longTermCapacity < 0 || shortTermCapacity < 1 || shortTermRecalls < 0) {
            throw new IllegalArgumentException("need long-term capacity >= 0, short-term capacity >= 1 and K_short >= 0, got "
                    + longTermCapacity + ", " + shortTermCapacity + ", " + shortTermRecalls);
        }
    }
}
