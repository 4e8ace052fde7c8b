/**
 * Model snapshots, format version 1: parameters as a deterministic numpy {@code .npz} blob
 * ({@link io.rehearsal.models.snapshot.NpzFormat}) with a SHA-256, inline or in verified chunks
 * ({@link io.rehearsal.models.snapshot.SnapshotCodec}), optionally HMAC-signed
 * ({@link io.rehearsal.models.snapshot.SnapshotSigner}); published transactionally by
 * {@link io.rehearsal.models.snapshot.SnapshotPublisher} and read back by
 * {@link io.rehearsal.models.snapshot.SnapshotReader}. See docs/trainer.md.
 */
package io.rehearsal.models.snapshot;
