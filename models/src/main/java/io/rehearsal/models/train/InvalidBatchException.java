package io.rehearsal.models.train;

import java.util.List;

/**
 * A batch the trainer cannot train on (wrong model, feature size, label out of range...), or whose step
 * came out non-finite ({@link NonFiniteStepException}). The trainer is unchanged when this is thrown; the
 * caller skips the batch and reports it.
 */
public class InvalidBatchException extends IllegalArgumentException {
    /**
     * The reasons the trainer throws this with, besides the names of {@link io.rehearsal.schemas.RecordDecodeException.Reason}
     * (features that do not decode): the {@code reason} values of {@code rehearsal_trainer_batches_rejected_total}.
     */
    public static final List<String> REASONS =
            List.of("EMPTY", "EMPTY_BATCH", "WRONG_KIND", "WRONG_MODEL", "INVALID_VALUE", "UNKNOWN_LABEL", "SHAPE_MISMATCH",
                    NonFiniteStepException.LOSS, NonFiniteStepException.GRADIENT);
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
