package io.rehearsal.streams.recall;

/**
 * One schedule entry whose recall is due.
 *
 * @param sampleId the sample
 * @param label    its class (round-robin key)
 * @param due      the step it became due at
 */
public record DueEntry(String sampleId, int label, long due) {
}
