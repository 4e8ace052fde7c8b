package io.rehearsal.models.snapshot;

/**
 * A snapshot that cannot be used: an unknown format version or encoding, a missing or tampered chunk,
 * a hash or signature that does not match. The message says which and what to do.
 */
public final class SnapshotFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SnapshotFormatException(String message) {
        super(message);
    }

    public SnapshotFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
