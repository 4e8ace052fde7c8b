package io.rehearsal.models.snapshot;

/**
 * Called at each stage of publishing a snapshot. Production code passes {@link #NONE}; tests use it to
 * stop a trainer at an exact point, e.g. after the offsets were sent but before the commit. An
 * exception thrown by the hook propagates as is and the transaction is <em>not</em> aborted, as if
 * the process had died there.
 */
@FunctionalInterface
public interface PublishHook {
    /** The stages of one snapshot transaction, in order. */
    enum Stage {
        /** The transaction began and the chunks (if any) were written. */
        CHUNKS_SENT,
        /** The snapshot record was written. */
        SNAPSHOT_SENT,
        /** The consumer offsets were added to the transaction; next comes the commit. */
        OFFSETS_SENT,
        /** The transaction committed. */
        COMMITTED
    }

    PublishHook NONE = stage -> { };

    void at(Stage stage);
}
