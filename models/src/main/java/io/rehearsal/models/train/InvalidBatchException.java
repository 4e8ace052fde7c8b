package io.rehearsal.models.train;

/**
 * A batch the trainer cannot train on (wrong model, feature size, label out of range...). The trainer
 * is unchanged when this is thrown; the caller skips the batch and reports it.
 */
public final class InvalidBatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String reason;

    public InvalidBatchException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public InvalidBatchException(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** Machine-readable category for the dead-letter record, e.g. SHAPE_MISMATCH or UNKNOWN_LABEL. */
    public String reason() {
        return reason;
    }
}
