package io.rehearsal.models.snapshot;

import java.util.Objects;

/**
 * A snapshot that cannot be used: an unknown format version or encoding, a missing or tampered chunk,
 * a hash or signature that does not match. The message says which and what to do; {@link #reason()}
 * is a stable category for metrics and logs.
 */
public final class SnapshotFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a snapshot was refused. */
    public enum Reason {
        /** A format version or parameter encoding this reader does not know. */
        UNKNOWN_FORMAT,
        /** The record or its parameter blob does not decode, or the snapshot lacks its parameters. */
        MALFORMED,
        /** A referenced chunk is gone (compacted away, deleted, never committed) or belongs to another snapshot. */
        MISSING_CHUNK,
        /** A chunk or the whole blob does not match its SHA-256 or size: altered or corrupted. */
        CHECKSUM,
        /** A reader that requires signatures got an unsigned snapshot. */
        UNSIGNED,
        /** The HMAC-SHA256 signature does not match (altered, or signed with another key). */
        BAD_SIGNATURE,
        /** The weights do not fit the network the snapshot's spec describes. */
        INCOMPATIBLE,
        /** The broker did not deliver the snapshot or a chunk in time. */
        UNREADABLE
    }

    private final Reason reason;

    public SnapshotFormatException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public SnapshotFormatException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
