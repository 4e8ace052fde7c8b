package io.rehearsal.streams.errors;

/**
 * Where an input record came from, and its original bytes: what a dead letter must carry so that an
 * operator can find, fix and replay it.
 *
 * @param topic     input topic
 * @param partition input partition
 * @param offset    offset in that partition
 * @param key       original key bytes (may be null)
 * @param payload   original value bytes (may be null)
 * @param timestamp the record's timestamp
 */
public record Source(String topic, int partition, long offset, byte[] key, byte[] payload, long timestamp) {
}
