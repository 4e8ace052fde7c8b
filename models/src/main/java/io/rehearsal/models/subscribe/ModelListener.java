package io.rehearsal.models.subscribe;

import io.rehearsal.models.snapshot.SnapshotFormatException;

/**
 * Hears what a {@link ModelSubscriber} does with each snapshot. Called on the subscriber's thread, one
 * call at a time, after the fact: keep it short (hand long work to another thread). An exception
 * thrown here is logged and does not affect the subscriber.
 */
public interface ModelListener {
    /**
     * A new version is being served.
     *
     * @param previous the version served before, or null if this is the first
     * @param current  the version now served
     */
    void onNewVersion(ModelInfo previous, ModelInfo current);

    /**
     * A snapshot was refused; the previous version (if any) keeps serving.
     *
     * @param version the refused snapshot's version (-1 if its record could not be decoded)
     */
    default void onRefused(String modelId, long version, SnapshotFormatException.Reason reason, String message) {
    }
}
