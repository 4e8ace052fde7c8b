package io.rehearsal.schemas;

import org.apache.kafka.common.errors.SerializationException;

/**
 * The one exception every rehearsal decoder throws for input it cannot accept. Its {@link #reason()}
 * is a stable, machine-readable category (it becomes the dead letter's reason); its message says what
 * was wrong and what the producer should do about it.
 *
 * <p>It extends Kafka's {@link SerializationException} so that Kafka clients and Kafka Streams treat
 * it as a deserialization failure (and hand it to a deserialization exception handler).
 */
public final class RecordDecodeException extends SerializationException {
    private static final long serialVersionUID = 1L;

    /** Why a record was refused. */
    public enum Reason {
        /** Empty or null value where a record is required. */
        EMPTY,
        /** Neither the Avro single-object marker (0xC3 0x01) nor a JSON object. */
        BAD_MARKER,
        /** Avro single-object encoding whose schema fingerprint no known schema version has. */
        UNKNOWN_FINGERPRINT,
        /** Avro body that does not decode with its schema (truncated or corrupted). */
        MALFORMED_AVRO,
        /** Text that is not well-formed JSON. */
        MALFORMED_JSON,
        /** A JSON field with the wrong type, e.g. a string where an int belongs. */
        WRONG_TYPE,
        /** A required field is missing. */
        MISSING_FIELD,
        /** A field holds a value outside its domain (negative dimension, unknown enum symbol...). */
        INVALID_VALUE,
        /** The feature shape does not match the number of data elements. */
        SHAPE_MISMATCH,
        /** Features contain NaN or infinity. */
        NON_FINITE
    }

    private final Reason reason;

    public RecordDecodeException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public RecordDecodeException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
