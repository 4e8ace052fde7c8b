package io.rehearsal.models.snapshot;

/**
 * Publishing a snapshot failed (broker unreachable, record too large, transaction timed out...). The
 * transaction was aborted: neither the snapshot nor its offsets are visible, and the batches it
 * covers will be trained again after a restart.
 */
public final class SnapshotPublishException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SnapshotPublishException(String message, Throwable cause) {
        super(message, cause);
    }
}
