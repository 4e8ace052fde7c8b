/**
 * The recall schedule in training steps: the pure rules ({@link io.rehearsal.streams.recall.RecallPolicy})
 * and the store keyed by due step that a scan {@code due <= now} reads
 * ({@link io.rehearsal.streams.recall.RecallSchedule}).
 */
package io.rehearsal.streams.recall;
