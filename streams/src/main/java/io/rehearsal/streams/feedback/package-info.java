/**
 * Human feedback: how conflicts are resolved ({@link io.rehearsal.streams.feedback.FeedbackRules}) and
 * where feedback waits for a sample not seen yet ({@link io.rehearsal.streams.feedback.PendingFeedback}).
 */
package io.rehearsal.streams.feedback;
