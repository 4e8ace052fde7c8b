package io.rehearsal.streams.errors;

import io.rehearsal.schemas.RecordDecodeException;

/**
 * Why the curator refused an input. Decoding failures keep the decoder's own reason
 * ({@link RecordDecodeException.Reason}); these are the curator's.
 */
public enum DeadLetterReason {
    /** A sample (or feedback for an unseen sample) for a model id the curator is not configured for. */
    UNKNOWN_MODEL,
    /** A sample whose features would not fit in a training batch under the batch topic's message limit. */
    SAMPLE_TOO_LARGE,
    /** A record on the curator's reroute topic that the curator did not write (its origin headers are missing). */
    UNKNOWN_ORIGIN,
    /** The features do not have the model's input size. */
    SHAPE_MISMATCH,
    /** The label (of a sample or a LABEL feedback) is outside the model's classes. */
    UNKNOWN_LABEL,
    /** An EVAL sample without a label: nothing to evaluate against. */
    MISSING_LABEL,
    /** A sample id the curator already holds. */
    DUPLICATE_SAMPLE,
    /** A sample (or feedback about one) that a REJECT keeps out. */
    SAMPLE_REJECTED,
    /** Feedback whose sample did not arrive before the pending expiry. */
    FEEDBACK_EXPIRED,
    /** Feedback for an unseen sample while the pending-feedback store is full. */
    FEEDBACK_OVERFLOW,
    /** Processing the record threw (a bug): it was skipped by {@code CuratorErrorHandler}. */
    PROCESSING_ERROR,
    /** Kafka refused a record the curator wrote while processing it (larger than its topic allows): skipped. */
    RECORD_TOO_LARGE
}
