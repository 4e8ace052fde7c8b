package io.rehearsal.streams.errors;

import io.rehearsal.schemas.RecordDecodeException;

/**
 * Why the curator refused an input. Decoding failures keep the decoder's own reason
 * ({@link RecordDecodeException.Reason}); these are the curator's.
 */
public enum DeadLetterReason {
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
    FEEDBACK_OVERFLOW
}
